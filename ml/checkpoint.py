"""Writing checkpoints safely: plain values only, and never half a file.

Everything in a checkpoint must be a tensor or a plain Python value, so that
``torch.load(..., weights_only=True)`` can read it without running pickled code from disk.
"""

import os
import tempfile
from pathlib import Path

import torch

_PLAIN = (str, int, float, bool, type(None))


def check_plain(value: object, where: str) -> None:
    """Refuse values weights_only loading would reject: fail at save, not months later at load."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: keys must be str, got {type(k).__name__}")
            check_plain(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_plain(v, f"{where}[{i}]")
    # exact types: numpy.float64 subclasses float yet the weights_only loader rejects it
    elif type(value) not in _PLAIN:
        raise TypeError(f"{where}: {type(value).__name__} is not a plain value (numpy scalar?)")


def save_atomically(checkpoint: dict, path: str | os.PathLike) -> None:
    """torch.save to `path` through a temp file and a rename: a reader sees the old file or
    the new, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temp file sits in the same directory so os.replace is a rename on one filesystem
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
