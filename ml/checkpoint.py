"""Save and load a SliceNet as a dict of state, config, class names and step.

Everything in the file is a tensor or a plain Python value, so ``torch.load(...,
weights_only=True)`` can read it without running pickled code from disk.
"""

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from ml.model import NetConfig, SliceNet

FORMAT = 1  # bump when the layout of the dict changes

_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: object, where: str) -> None:
    """Refuse values weights_only loading would reject: fail at save, not months later at load."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: keys must be str, got {type(k).__name__}")
            _check_plain(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    # exact types: numpy.float64 subclasses float yet the weights_only loader rejects it
    elif type(value) not in _PLAIN:
        raise TypeError(f"{where}: {type(value).__name__} is not a plain value (numpy scalar?)")


def save_checkpoint(
    path: str | os.PathLike,
    model: SliceNet,
    net: NetConfig,
    class_names: list[str],
    step: int,
    extra: dict | None = None,
) -> None:
    """Write the checkpoint atomically: a reader sees the old file or the new, never half."""
    if len(class_names) != net.n_classes:
        raise ValueError(f"{len(class_names)} class names for {net.n_classes} classes")
    extra = {} if extra is None else extra
    _check_plain(extra, "extra")
    ckpt = {
        "format": FORMAT,
        "model": model.state_dict(),
        "config": asdict(net),
        "class_names": [str(n) for n in class_names],
        "step": int(step),
        "extra": extra,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temp file sits in the same directory so os.replace is a rename on one filesystem
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(ckpt, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The raw checkpoint dict (format, model, config, class_names, step, extra)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {ckpt.get('format')}, expected {FORMAT}")
    return ckpt


def load_checkpoint(path: str | os.PathLike) -> tuple[SliceNet, NetConfig, list[str], dict]:
    """Model (in eval mode), its config, class names and the extra dict saved with it."""
    ckpt = read_checkpoint(path)
    net = NetConfig(**ckpt["config"])
    model = SliceNet(net)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, net, list(ckpt["class_names"]), ckpt["extra"]
