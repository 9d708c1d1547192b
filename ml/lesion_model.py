"""The two-stage lesion model as one file: canal localiser, crop settings, classifier, thresholds.

Saved as a dict of plain values and tensors, so ``torch.load(..., weights_only=True)`` reads
it without running pickled code from disk; written atomically, so a reader sees the old file
or the new, never half. Everything a prediction needs travels in the file: the vocabularies
that turn "sagittal"/"T2W" into the classifier's indices, and the tile size and stride the
classifier was trained with (see ml/tiles.py).
"""

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ml.checkpoint import check_plain, save_atomically
from ml.localiser import Localiser, LocaliserConfig, locate
from ml.multilabel import ClassifierConfig, LesionNet, predict
from ml.tiles import slice_max, slice_tiles

FORMAT = 2  # format 1 was the single-network SliceNet; bump when this layout changes


@dataclass
class LesionModel:
    classifier: LesionNet
    localiser: Localiser
    lesions: list[str]  # one per classifier output, in order
    planes: list[str]  # plane vocabulary: index i is one-hot position i
    sequences: list[str]  # weighting vocabulary
    thresholds: np.ndarray  # (K,) a finding is called when its probability is >= this
    crop_size: int  # side of the classifier's input tile, pixels (native resolution)
    stride: int  # pixels between tiles along the canal
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
        (probabilities (N, K), canal boxes (N, 4) pixel x, y, w, h).

        Each slice is cut into tiles along the canal the localiser finds; a slice's
        probability for a finding is its most suspicious tile's."""
        boxes = locate(self.localiser, pixel_arrays)
        tiles, counts, plane_idx, seq_idx = [], [], [], []
        for image, box, plane, sequence in zip(pixel_arrays, boxes, planes, sequences, strict=True):
            cut, _ = slice_tiles(image, box, self.crop_size, self.stride)
            tiles.append(cut)
            counts.append(len(cut))
            plane_idx += [self.planes.index(plane)] * len(cut)
            seq_idx += [self.sequences.index(sequence)] * len(cut)
        if not tiles:
            return np.zeros((0, len(self.lesions))), boxes
        probs = predict(
            self.classifier,
            np.concatenate(tiles),
            np.array(plane_idx, dtype=np.int64),
            np.array(seq_idx, dtype=np.int64),
        )
        return slice_max(probs, counts), boxes


def save_lesion_model(path: str | os.PathLike, model: LesionModel) -> None:
    """Write the model atomically to ``path`` (parent directories are created)."""
    check_plain(model.extra, "extra")
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
            "stride": int(model.stride),
            "localiser_size": int(model.localiser.config.in_size),
        },
        "thresholds": [float(t) for t in model.thresholds],
        "step": int(model.step),
        "extra": model.extra,
    }
    save_atomically(ckpt, path)


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
        stride=int(pre["stride"]),
        step=int(ckpt["step"]),
        extra=ckpt["extra"],
    )
