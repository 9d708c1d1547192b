"""Turning today's labels into a trained lesion model (worker side: imports ml and torch).

Slices are decoded one at a time and reduced at once to what the networks need (a 128 px
whole-slice picture for the localiser, native-resolution tiles along the canal for the
classifier), so memory stays bounded by the labels, not by the images' size.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from annotator.imaging import pixels, storage
from annotator.imaging.models import CanalBox, Instance
from annotator.learning import dataset
from annotator.vocab import Plane, Sequence, Split
from ml.fit import CropSet, FitConfig, FitResult, fit
from ml.lesion_model import LesionModel
from ml.localiser import LocaliserConfig, locate, train_localiser
from ml.multilabel import ClassifierConfig
from ml.preprocess import pad_to_square, resize
from ml.tiles import slice_tiles, tile_labels

log = logging.getLogger(__name__)

PLANES = [p.value for p in Plane]
SEQUENCES = [s.value for s in Sequence]


@dataclass
class Labeled:
    """One split's labeled slices: what each shows, and where its canal and lesions are."""

    instances: list[Instance]
    truth: np.ndarray  # (N, lesions) bool
    lesion_boxes: list[list[tuple[int, list[float]]]]  # (lesion index, x, y, w, h) per slice
    canal: dict[int, list[float]] = field(default_factory=dict)  # instance id -> canal box

    @property
    def planes(self) -> list[str]:
        return [i.series.plane for i in self.instances]

    @property
    def sequences(self) -> list[str]:
        return [i.series.sequence for i in self.instances]


def labeled(split: str) -> Labeled:
    current = {pk: lab for pk, lab in dataset.current_labels(split).items() if not lab.cant_tell}
    instances = list(
        Instance.objects.filter(pk__in=current).select_related("series__study").order_by("id")
    )
    lesions = dataset.LESIONS
    truth = np.zeros((len(instances), len(lesions)), dtype=bool)
    boxes: list[list[tuple[int, list[float]]]] = []
    for row, instance in enumerate(instances):
        label = current[instance.pk]
        truth[row] = [lesion in label.findings for lesion in lesions]
        boxes.append(
            [
                (lesions.index(b["finding"]), [b["x"], b["y"], b["width"], b["height"]])
                for b in label.boxes
                if b["finding"] in lesions
            ]
        )
    canal = {c.instance_id: c.as_list() for c in CanalBox.objects.filter(instance__in=instances)}
    return Labeled(instances, truth, boxes, canal)


def image_of(instance: Instance) -> np.ndarray:
    return np.asarray(pixels.read_image(storage.read(instance.file_key)), dtype=np.float32)


def small(image: np.ndarray, box: list[float], size: int) -> tuple[np.ndarray, list[float]]:
    """The whole slice padded to a square and resized to `size`, and its canal box in that
    frame (as ml.localiser pads: centred)."""
    h, w = image.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    scale = size / side
    x, y, bw, bh = box
    return resize(pad_to_square(image), size), [
        (x + left) * scale,
        (y + top) * scale,
        bw * scale,
        bh * scale,
    ]


def localiser_training_set(size: int, limit: int, seed: int) -> tuple[list, np.ndarray]:
    """Training dogs' slices with a canal box (labeled or not), at most `limit` of them."""
    boxes = list(
        CanalBox.objects.filter(instance__series__study__dog__split=Split.TRAIN).select_related(
            "instance"
        )
    )
    rng = np.random.default_rng(seed)
    if len(boxes) > limit:
        boxes = [boxes[i] for i in sorted(rng.choice(len(boxes), limit, replace=False))]
    images, targets = [], []
    for canal in boxes:
        picture, box = small(image_of(canal.instance), canal.as_list(), size)
        images.append(picture)
        targets.append(box)
    return images, np.asarray(targets, dtype=np.float64).reshape(-1, 4)


def tiles_of(
    data: Labeled,
    localiser,
    size: int,
    stride: int,
    rng: np.random.Generator | None,
    max_negative: int,
    images: list[np.ndarray] | None = None,
) -> tuple[CropSet, list[int]]:
    """Tiles of every labeled slice with their labels; (tile set, tiles per slice).

    Training (`rng` given) cuts along the reader's canal box where there is one and keeps
    every tile that shows a finding and at most `max_negative` of the others per slice;
    evaluation cuts along the localiser's box, as at inference, and keeps every tile.
    `images` are the slices already decoded, in order (else each is read here).
    """
    tiles, labels, planes, sequences, counts = [], [], [], [], []
    for row, instance in enumerate(data.instances):
        image = images[row] if images is not None else image_of(instance)
        box = data.canal.get(instance.pk) if rng is not None else None
        if box is None:
            box = locate(localiser, [image])[0].tolist()
        cut, origins = slice_tiles(image, box, size, stride)
        marks = tile_labels(origins, size, data.truth[row], data.lesion_boxes[row])
        keep = np.arange(len(cut))
        if rng is not None:
            positive = marks.any(axis=1)
            negative = np.flatnonzero(~positive)
            if len(negative) > max_negative:
                negative = rng.choice(negative, max_negative, replace=False)
            keep = np.sort(np.concatenate([np.flatnonzero(positive), negative]))
        tiles.append(cut[keep])
        labels.append(marks[keep])
        planes += [PLANES.index(instance.series.plane)] * len(keep)
        sequences += [SEQUENCES.index(instance.series.sequence)] * len(keep)
        counts.append(len(keep))
    if not tiles:
        empty = np.zeros((0, size, size), dtype=np.float32)
        return CropSet(empty, np.zeros((0, len(dataset.LESIONS)), bool), [], []), []
    return (
        CropSet(
            np.concatenate(tiles), np.concatenate(labels), np.array(planes), np.array(sequences)
        ),
        counts,
    )


def train_model(
    train: Labeled,
    val: Labeled,
    seed: int,
    device: str,
    progress: Callable[[dict], None] | None = None,
) -> tuple[LesionModel, FitResult]:
    """Localiser on the canal boxes, then the classifier on tiles along the canal."""
    size, stride = settings.TRAIN_TILE_SIZE, settings.TRAIN_TILE_STRIDE
    loc_cfg = LocaliserConfig(steps=settings.LOCALISER_STEPS, seed=seed, device=device)
    images, boxes = localiser_training_set(loc_cfg.in_size, settings.LOCALISER_MAX_SLICES, seed)
    if not len(images):
        raise ValueError(
            "no canal boxes on training dogs' slices: import them with "
            "`manage.py import_labels FILE --canal-boxes-only --annotator NAME`"
        )
    if progress:
        progress({"stage": "localiser", "slices": len(images)})
    clock = time.monotonic()
    localiser = train_localiser(images, boxes, loc_cfg)
    log.info("localiser: %d slices, %.1f s", len(images), time.monotonic() - clock)
    rng = np.random.default_rng(seed)
    clock = time.monotonic()
    train_tiles, _ = tiles_of(train, localiser, size, stride, rng, settings.TRAIN_MAX_NEGATIVE)
    val_tiles, _ = tiles_of(val, localiser, size, stride, None, 0)
    log.info(
        "tiles: %d for training, %d for validation, %.1f s",
        len(train_tiles),
        len(val_tiles),
        time.monotonic() - clock,
    )
    net = ClassifierConfig(
        n_lesions=len(dataset.LESIONS),
        in_size=size,
        planes=len(PLANES),
        sequences=len(SEQUENCES),
    )
    if device == "cuda":  # mixed precision, bigger batches, a longer budget
        cfg = FitConfig.gpu(steps=settings.TRAIN_STEPS_GPU, seed=seed)
    else:
        cfg = FitConfig.cpu(steps=settings.TRAIN_STEPS, seed=seed, device=device)
    clock = time.monotonic()
    result = fit(train_tiles, val_tiles if len(val_tiles) else None, net, cfg, progress)
    log.info("classifier: %d steps, %.1f s", result.steps, time.monotonic() - clock)
    model = LesionModel(
        classifier=result.model,
        localiser=localiser,
        lesions=list(dataset.LESIONS),
        planes=PLANES,
        sequences=SEQUENCES,
        thresholds=np.full(len(dataset.LESIONS), 0.5),
        crop_size=size,
        stride=stride,
        step=result.steps,
    )
    return model, result


def predict(model: LesionModel, instances: list[Instance], batch: int = 64) -> np.ndarray:
    """(N, lesions) probabilities of these slices, decoded a batch at a time."""
    parts = [
        predict_images(model, chunk, [image_of(i) for i in chunk])
        for chunk in (instances[start : start + batch] for start in range(0, len(instances), batch))
    ]
    return np.concatenate(parts) if parts else np.zeros((0, len(dataset.LESIONS)))


def predict_images(model: LesionModel, instances: list[Instance], images: list) -> np.ndarray:
    probs, _ = model.predict_slices(
        images, [i.series.plane for i in instances], [i.series.sequence for i in instances]
    )
    return probs
