"""The two-stage lesion model as one file: canal localiser, crop settings, classifier, thresholds.

Saved as a dict of plain values and tensors, so ``torch.load(..., weights_only=True)`` reads
it without running pickled code from disk; written atomically, so a reader sees the old file
or the new, never half. Everything a prediction needs travels in the file: the vocabularies
that turn "sagittal"/"T2W" into the classifier's indices, and the crop size and margin the
classifier was trained with.
"""

import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ml.checkpoint import _check_plain
from ml.localiser import Localiser, LocaliserConfig, canal_crops, locate
from ml.multilabel import ClassifierConfig, LesionNet, predict

FORMAT = 2  # ml/checkpoint.py (SliceNet) is format 1; bump when this layout changes


@dataclass
class LesionModel:
    classifier: LesionNet
    localiser: Localiser
    lesions: list[str]  # one per classifier output, in order
    planes: list[str]  # plane vocabulary: index i is one-hot position i
    sequences: list[str]  # weighting vocabulary
    thresholds: np.ndarray  # (K,) a finding is called when its probability is >= this
    crop_size: int  # side of the classifier's input crop, pixels
    margin: int  # pixels kept around the canal box when cropping
    step: int = 0
    extra: dict = field(default_factory=dict)  # plain values only (metrics, data versions)

    def __post_init__(self) -> None:
        net = self.classifier.config
        self.thresholds = np.asarray(self.thresholds, dtype=np.float64)
        if len(self.lesions) != net.n_lesions or self.thresholds.shape != (net.n_lesions,):
            raise ValueError(f"need {net.n_lesions} lesion names and thresholds")
        if len(self.planes) != net.planes or len(self.sequences) != net.sequences:
            raise ValueError(f"need {net.planes} planes and {net.sequences} sequences")
        if self.crop_size != net.in_size:
            raise ValueError(f"crop_size {self.crop_size} but classifier in_size {net.in_size}")

    @torch.no_grad()
    def predict_slices(
        self,
        pixel_arrays: Sequence[np.ndarray],
        planes: Sequence[str],
        sequences: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Raw slices (each (H, W)) with their series' plane and weighting names ->
        (probabilities (N, K), canal boxes (N, 4) pixel x, y, w, h)."""
        plane_idx = np.array([self.planes.index(p) for p in planes], dtype=np.int64)
        seq_idx = np.array([self.sequences.index(s) for s in sequences], dtype=np.int64)
        boxes = locate(self.localiser, pixel_arrays)
        crops = canal_crops(pixel_arrays, boxes, self.crop_size, self.margin)
        return predict(self.classifier, crops, plane_idx, seq_idx), boxes


def save_lesion_model(path: str | os.PathLike, model: LesionModel) -> None:
    """Write the model atomically to ``path`` (parent directories are created)."""
    _check_plain(model.extra, "extra")
    ckpt = {
        "format": FORMAT,
        "classifier": model.classifier.state_dict(),
        "classifier_config": asdict(model.classifier.config),
        "localiser": model.localiser.state_dict(),
        "localiser_config": asdict(model.localiser.config),
        "lesions": [str(n) for n in model.lesions],
        "planes": [str(n) for n in model.planes],
        "sequences": [str(n) for n in model.sequences],
        "preprocess": {
            "crop_size": int(model.crop_size),
            "margin": int(model.margin),
            "localiser_size": int(model.localiser.config.in_size),
        },
        "thresholds": [float(t) for t in model.thresholds],
        "step": int(model.step),
        "extra": model.extra,
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


def load_lesion_model(path: str | os.PathLike, device: str = "cpu") -> LesionModel:
    """The saved model with both networks in eval mode on ``device``."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {ckpt.get('format')}, expected {FORMAT}")
    classifier = LesionNet(ClassifierConfig(**ckpt["classifier_config"]))
    classifier.load_state_dict(ckpt["classifier"])
    localiser = Localiser(LocaliserConfig(**ckpt["localiser_config"]))
    localiser.load_state_dict(ckpt["localiser"])
    pre = ckpt["preprocess"]
    if pre["localiser_size"] != localiser.config.in_size:
        raise ValueError(f"{path}: localiser_size {pre['localiser_size']} disagrees with config")
    return LesionModel(
        classifier=classifier.to(device).eval(),
        localiser=localiser.to(device).eval(),
        lesions=list(ckpt["lesions"]),
        planes=list(ckpt["planes"]),
        sequences=list(ckpt["sequences"]),
        thresholds=np.asarray(ckpt["thresholds"], dtype=np.float64),
        crop_size=int(pre["crop_size"]),
        margin=int(pre["margin"]),
        step=int(ckpt["step"]),
        extra=ckpt["extra"],
    )
