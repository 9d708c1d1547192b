"""The active-learning benchmark's engine: one synthetic cohort, one strategy, one seed.

Runs inside a scratch database (`manage.py simulate_al` starts it in a child process with
its own SQLite file and data folder, never the configured database). The cohort's
validation and test dogs are labeled from the manifest at the start: they choose
thresholds and measure each round, and are not part of the label budget. The training
dogs' slices are labeled only through the real queue: each round a perfect annotator
claims `batch` slices with the app's claim rule and submits what the manifest says
(findings and boxes), then the model is retrained, measured on the test dogs, scores the
open pool, and the queue is re-ranked by the strategy, as the worker does after a
promotion.

What differs from the app's worker, and why (the same for every strategy):
- the localiser learns the canal boxes once per cohort (they are not the labels being
  budgeted), and every slice's tiles are cut once and kept in memory, so a round costs a
  classifier fit and forward passes, not decoding thousands of DICOM files again;
- the classifier's schedule is lighter (`steps`, default 150, against the app's 800, and
  its last weights rather than early stopping), and no heatmaps are drawn.
"""

import csv
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.contrib.auth import get_user_model

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.labeling.imports import import_rows, row_content
from annotator.labeling.services import submit
from annotator.learning import dataset, scoring, selection, training
from annotator.learning.models import ModelVersion, TrainingRun
from annotator.vocab import Finding, Split
from annotator.worklist.claim import claim
from annotator.worklist.models import QueueItem
from ml.fit import CropSet, FitConfig, fit, macro_auroc
from ml.localiser import LocaliserConfig, train_localiser
from ml.mc import mc_tile_probs, per_slice
from ml.multilabel import ClassifierConfig
from ml.report import auroc, calls, youden_thresholds

log = logging.getLogger(__name__)

RARE = [Finding.FCE_ANNPE.value, Finding.SYRINGOMYELIA.value, Finding.NEOPLASIA.value]


@dataclass
class Plan:
    strategy: str
    seed: int
    rounds: int
    batch: int
    steps: int  # classifier optimiser steps per round
    passes: int  # MC dropout passes for BALD


@dataclass
class Tiles:
    """One slice cut for the classifier: every tile along the localiser's canal (what it is
    scored on) and, for training dogs, the training tiles along the reader's canal box."""

    eval_tiles: np.ndarray  # (T, S, S)
    eval_labels: np.ndarray  # (T, K) bool, from the slice's label and boxes
    train_tiles: np.ndarray | None  # (T', S, S)
    train_labels: np.ndarray | None  # (T', K) bool
    plane: int
    sequence: int


def run(cohort: Path, plan: Plan) -> list[dict]:
    """The learning curve: one point per round, after that round's retrain."""
    torch.manual_seed(plan.seed)
    torch.set_num_threads(settings.TORCH_THREADS)
    manifest = _manifest(cohort)
    ingest_paths(sorted(p for p in cohort.iterdir() if p.is_dir()))
    reader = get_user_model().objects.create_user("perfect-reader")
    _import_held_out(manifest, reader)
    clock = time.monotonic()
    tiles = _cut_every_slice(manifest, plan.seed)
    log.info("tiles of %d slices cut in %.0f s", len(tiles), time.monotonic() - clock)
    val_ids, val_truth = _truth(Split.VAL)
    test_ids, test_truth = _truth(Split.TEST)

    curve: list[dict] = []
    labeled: list[int] = []
    served = None
    for number in range(1, plan.rounds + 1):
        clock = time.monotonic()
        labeled += _label_from_queue(reader, manifest, plan.batch)
        net = _fit(labeled, tiles, plan, number)
        thresholds = youden_thresholds(_probs(net, val_ids, tiles), val_truth)
        test_probs = _probs(net, test_ids, tiles)
        served = _serve(served, number)
        pool = list(
            QueueItem.objects.filter(done=False, held_out=False)
            .order_by("instance_id")
            .values_list("instance_id", flat=True)
        )
        _score_pool(served, net, pool, tiles, thresholds, plan)
        selection.rank_queue(served, plan.strategy, batch=plan.batch)
        curve.append(_point(labeled, manifest, test_probs, test_truth, thresholds))
        log.info(
            "%s seed %d round %d: %d labels, test macro AUROC %.3f, %.0f s",
            plan.strategy,
            plan.seed,
            number,
            len(labeled),
            curve[-1]["macro_auroc"] or float("nan"),
            time.monotonic() - clock,
        )
    return curve


def _manifest(cohort: Path) -> dict[str, dict]:
    with (cohort / "manifest.csv").open(newline="") as fh:
        return {row["sop_instance_uid"]: row for row in csv.DictReader(fh)}


def _import_held_out(manifest: dict[str, dict], reader) -> None:
    """Canal boxes of every slice; the validation and test dogs' labels."""
    rows = list(enumerate(manifest.values(), start=2))
    import_rows(rows, reader, source="manifest.csv", canal_only=True)
    held_out = set(
        Instance.objects.filter(series__study__dog__split__in=[Split.VAL, Split.TEST]).values_list(
            "sop_instance_uid", flat=True
        )
    )
    import_rows(
        [(line, row) for line, row in rows if row["sop_instance_uid"] in held_out],
        reader,
        source="manifest.csv",
    )


def _cut_every_slice(manifest: dict[str, dict], seed: int) -> dict[int, Tiles]:
    """Train the localiser on the training dogs' canal boxes, then cut every slice."""
    loc_cfg = LocaliserConfig(steps=settings.LOCALISER_STEPS, seed=seed, device="cpu")
    images, boxes = training.localiser_training_set(
        loc_cfg.in_size, settings.LOCALISER_MAX_SLICES, seed
    )
    localiser = train_localiser(images, boxes, loc_cfg)
    size, stride = settings.TRAIN_TILE_SIZE, settings.TRAIN_TILE_STRIDE
    rng = np.random.default_rng(seed)
    everything = _from_manifest(Instance.objects.all(), manifest)
    cut: dict[int, Tiles] = {}
    for chunk in range(0, len(everything.instances), 256):
        part = training.Labeled(
            everything.instances[chunk : chunk + 256],
            everything.truth[chunk : chunk + 256],
            everything.lesion_boxes[chunk : chunk + 256],
            everything.canal,
        )
        images = [training.image_of(i) for i in part.instances]
        eval_set, eval_counts = training.tiles_of(part, localiser, size, stride, None, 0, images)
        train_set, train_counts = training.tiles_of(
            part, localiser, size, stride, rng, settings.TRAIN_MAX_NEGATIVE, images
        )
        e = np.cumsum([0, *eval_counts])
        t = np.cumsum([0, *train_counts])
        for k, instance in enumerate(part.instances):
            trains = instance.series.study.dog.split == Split.TRAIN
            cut[instance.pk] = Tiles(
                eval_tiles=eval_set.crops[e[k] : e[k + 1], 0],
                eval_labels=eval_set.labels[e[k] : e[k + 1]],
                train_tiles=train_set.crops[t[k] : t[k + 1], 0] if trains else None,
                train_labels=train_set.labels[t[k] : t[k + 1]] if trains else None,
                plane=int(eval_set.planes[e[k]]),
                sequence=int(eval_set.sequences[e[k]]),
            )
    return cut


def _from_manifest(instances, manifest: dict[str, dict]) -> training.Labeled:
    """Every slice with what the manifest says it shows (the perfect annotator's answer)."""
    rows = list(instances.select_related("series__study__dog").order_by("id"))
    lesions = dataset.LESIONS
    truth = np.zeros((len(rows), len(lesions)), dtype=bool)
    boxes = []
    for k, instance in enumerate(rows):
        content = row_content(manifest[instance.sop_instance_uid])
        truth[k] = [lesion in content.findings for lesion in lesions]
        boxes.append(
            [
                (lesions.index(b["finding"]), [b["x"], b["y"], b["width"], b["height"]])
                for b in content.boxes
                if b["finding"] in lesions
            ]
        )
    canal = {
        pk: box
        for pk, box in (
            (i.pk, json.loads(manifest[i.sop_instance_uid].get("canal_box") or "null"))
            for i in rows
        )
        if box
    }
    return training.Labeled(
        rows,
        truth,
        boxes,
        {pk: [b["x"], b["y"], b["width"], b["height"]] for pk, b in canal.items()},
    )


def _truth(split: str) -> tuple[list[int], np.ndarray]:
    data = training.labeled(split)
    return [i.pk for i in data.instances], data.truth


def _eval_crops(ids: list[int], tiles: dict[int, Tiles]) -> tuple[CropSet, list[int]]:
    parts = [tiles[pk] for pk in ids]
    counts = [len(t.eval_tiles) for t in parts]
    return (
        CropSet(
            np.concatenate([t.eval_tiles for t in parts]),
            np.concatenate([t.eval_labels for t in parts]),
            np.concatenate([[t.plane] * c for t, c in zip(parts, counts, strict=True)]),
            np.concatenate([[t.sequence] * c for t, c in zip(parts, counts, strict=True)]),
        ),
        counts,
    )


def _label_from_queue(reader, manifest: dict[str, dict], batch: int) -> list[int]:
    """The perfect annotator answers `batch` requests of the queue."""
    done = []
    for _ in range(batch):
        claimed = claim(reader)
        if claimed is None:
            break
        instance = claimed.current
        submit(reader, instance.pk, row_content(manifest[instance.sop_instance_uid]))
        done.append(instance.pk)
    return done


def _fit(labeled: list[int], tiles: dict[int, Tiles], plan: Plan, number: int):
    parts = [tiles[pk] for pk in labeled]
    train = CropSet(
        np.concatenate([t.train_tiles for t in parts]),
        np.concatenate([t.train_labels for t in parts]),
        np.concatenate([[t.plane] * len(t.train_tiles) for t in parts]),
        np.concatenate([[t.sequence] * len(t.train_tiles) for t in parts]),
    )
    net = ClassifierConfig(
        n_lesions=len(dataset.LESIONS),
        in_size=settings.TRAIN_TILE_SIZE,
        planes=len(training.PLANES),
        sequences=len(training.SEQUENCES),
    )
    # a short fixed schedule keeps its last weights; thresholds come from the validation
    # slices afterwards, as in the app
    cfg = FitConfig.cpu(steps=plan.steps, seed=plan.seed * 1000 + number, device="cpu")
    return fit(train, None, net, cfg).model


def _probs(net, ids: list[int], tiles: dict[int, Tiles]) -> np.ndarray:
    crops, counts = _eval_crops(ids, tiles)
    tile = mc_tile_probs(net, crops.crops, crops.planes, crops.sequences, passes=1, seed=0)
    return per_slice(tile, counts)[0]


def _serve(previous: ModelVersion | None, number: int) -> ModelVersion:
    """A version row for this round's model, served (the queue ranks by served versions)."""
    if previous is not None:
        ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.RETIRED)
    run = TrainingRun.objects.create(trigger=TrainingRun.Trigger.MANUAL, status="finished")
    return ModelVersion.objects.create(
        run=run,
        status=ModelVersion.Status.PROMOTED,
        checkpoint_key=f"simulation/round-{number}",
    )


def _score_pool(version, net, pool: list[int], tiles, thresholds, plan: Plan) -> None:
    for start in range(0, len(pool), 512):
        ids = pool[start : start + 512]
        crops, counts = _eval_crops(ids, tiles)
        tile = mc_tile_probs(
            net, crops.crops, crops.planes, crops.sequences, passes=plan.passes, seed=version.pk
        )
        probs, samples, embeddings = per_slice(tile, counts)
        batch = list(Instance.objects.filter(pk__in=ids).order_by("id"))
        scoring.store(version, thresholds, batch, probs, samples, embeddings, [])
    scoring.forget_embeddings(version)


def _point(labeled, manifest, probs, truth, thresholds) -> dict:
    lesions = dataset.LESIONS
    uids = dict(Instance.objects.filter(pk__in=labeled).values_list("pk", "sop_instance_uid"))
    rare = sum(any(f in RARE for f in row_content(manifest[uids[pk]]).findings) for pk in labeled)
    called = calls(probs, thresholds)
    sensitivity = {}
    for k, lesion in enumerate(lesions):
        positives = truth[:, k]
        sensitivity[lesion] = float(called[positives, k].mean()) if positives.any() else None
    return {
        "labels": len(labeled),
        "macro_auroc": macro_auroc(probs, truth),
        "rare_positives": int(rare),
        "auroc": {lesion: auroc(probs[:, k], truth[:, k]) for k, lesion in enumerate(lesions)},
        "sensitivity": sensitivity,
    }
