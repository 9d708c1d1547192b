"""Train a LesionNet on canal crops: the loop written out, no framework.

- A fixed budget of optimiser steps (not epochs): the time a round takes is known up front,
  whatever the size of the labelled set. Learning rate: linear warm-up, then cosine decay.
- Class-balanced batches: every batch holds about as many slices of each lesion finding,
  and of unremarkable slices, however rare the finding. Rare findings are seen more often
  rather than weighted more, so a batch never hangs its whole gradient on one slice.
- Weights are averaged as training goes (an exponential moving average, horizon about
  1 / (1 - ema_decay) steps): what is evaluated, kept and returned is the average, which
  sits in the middle of the last steps' wanderings rather than wherever the final step left
  it. BatchNorm running statistics are averaged the same way.
- Every ``eval_every`` steps the validation macro AUROC picks the best weights so far; the
  run stops after ``patience`` evaluations without improvement. Per-finding thresholds are
  chosen on the validation set for the best weights (Youden's J).

Deterministic on CPU for a fixed seed and thread count: torch's global RNG (weight init,
dropout) is seeded here, and every data decision (batches, augmentation) comes from one
numpy generator. On CUDA it runs in mixed precision (float16 autocast with a GradScaler).
"""

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ml.multilabel import ClassifierConfig, LesionNet, as_batch, predict
from ml.report import auroc, youden_thresholds


@dataclass
class CropSet:
    """Crops and what is known about them, one row per slice."""

    crops: np.ndarray  # (N, S, S) or (N, 1, S, S) float, intensity in about 0..1
    labels: np.ndarray  # (N, K) bool: finding k is present; an all-False row is unremarkable
    planes: np.ndarray  # (N,) int index into the plane vocabulary
    sequences: np.ndarray  # (N,) int index into the sequence vocabulary

    def __post_init__(self) -> None:
        self.crops = as_batch(self.crops)
        self.labels = np.asarray(self.labels).astype(bool)
        self.planes = np.asarray(self.planes, dtype=np.int64)
        self.sequences = np.asarray(self.sequences, dtype=np.int64)
        n = len(self.crops)
        if self.labels.ndim != 2 or len(self.labels) != n:
            raise ValueError(f"expected labels ({n}, K), got {self.labels.shape}")
        if self.planes.shape != (n,) or self.sequences.shape != (n,):
            raise ValueError(f"expected planes and sequences of shape ({n},)")

    def __len__(self) -> int:
        return len(self.crops)


@dataclass
class FitConfig:
    steps: int = 300
    batch_size: int = 64
    lr: float = 2e-3  # peak, reached at the end of the warm-up
    min_lr_frac: float = 0.05  # the cosine ends at lr * min_lr_frac
    warmup_frac: float = 0.1
    weight_decay: float = 0.05
    eval_every: int = 50
    log_every: int = 10  # progress between evaluations, with the latest validation score
    patience: int | None = 4  # evaluations without improvement before stopping; None: never
    max_shift: int = 4  # augmentation: largest shift in pixels (crops are native resolution)
    hflip: bool = True
    max_gain: float = 0.1  # augmentation: intensity x U(1 - g, 1 + g) + U(-g/2, g/2)
    ema_decay: float | None = 0.98  # weight averaging; None: the raw weights
    seed: int = 0
    device: str = "cpu"
    amp: bool = True  # float16 autocast + GradScaler; only ever used on CUDA

    def __post_init__(self) -> None:
        if min(self.steps, self.batch_size, self.eval_every, self.log_every) < 1:
            raise ValueError(f"steps, batch_size, eval_every, log_every must be positive: {self}")
        if self.max_shift < 0:
            raise ValueError(f"max_shift must not be negative: {self.max_shift}")
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1) or be None: {self.ema_decay}")

    @classmethod
    def cpu(cls, **changes) -> "FitConfig":
        """About 6 epochs of 3,000 crops of 64 px: measured 0.17 s a step and 0.7 s per 600
        validation crops on 2 free cores, so about a minute; up to ~5 minutes when the two
        cores are shared with other busy processes."""
        return cls(**{"steps": 300, "batch_size": 64, "eval_every": 50, **changes})

    @classmethod
    def gpu(cls, **changes) -> "FitConfig":
        """About 85 epochs of 3,000 crops, in bigger batches, with mixed precision on CUDA."""
        changes = {"steps": 2000, "batch_size": 128, "lr": 3e-3, "eval_every": 100, **changes}
        return cls(**{"device": "cuda", "patience": 6, **changes})


@dataclass
class FitResult:
    model: LesionNet  # the best weights by validation macro AUROC, in eval mode
    thresholds: np.ndarray  # (K,) per finding, Youden-optimal on the validation set
    history: list[dict] = field(default_factory=list)  # {step, loss, val_macro_auroc}
    steps: int = 0  # steps taken (fewer than cfg.steps after early stopping)
    best_step: int = 0
    best_val_macro_auroc: float | None = None
    stopped_early: bool = False
    seconds: float = 0.0


def finding_groups(labels: np.ndarray) -> list[np.ndarray]:
    """Row indices of each lesion finding, then of unremarkable rows; empty groups dropped.

    A slice with two findings sits in both of their groups.
    """
    labels = np.asarray(labels, dtype=bool)
    groups = [np.flatnonzero(labels[:, k]) for k in range(labels.shape[1])]
    groups.append(np.flatnonzero(~labels.any(axis=1)))
    return [g for g in groups if len(g)]


def balanced_batch(
    groups: list[np.ndarray], batch_size: int, rng: np.random.Generator
) -> np.ndarray:
    """batch_size row indices: an equal share from each group (the remainder to groups drawn
    at random), each drawn uniformly, with replacement, within its group."""
    share = np.full(len(groups), batch_size // len(groups))
    share[rng.permutation(len(groups))[: batch_size % len(groups)]] += 1
    idx = [g[rng.integers(0, len(g), size=n)] for g, n in zip(groups, share, strict=True)]
    return rng.permutation(np.concatenate(idx))


def lr_at(step: int, cfg: FitConfig) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.lr * cfg.min_lr_frac."""
    warmup = max(1, round(cfg.warmup_frac * cfg.steps))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    done = (step - warmup) / max(1, cfg.steps - warmup)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0)))
    return cfg.lr * (cfg.min_lr_frac + (1.0 - cfg.min_lr_frac) * cosine)


def augment(x: torch.Tensor, cfg: FitConfig, rng: np.random.Generator) -> torch.Tensor:
    """Per crop: a shift of up to max_shift px, a horizontal flip, intensity jitter.

    Only horizontal flips: on a sagittal slice that swaps cranial and caudal, on a transverse
    or dorsal slice left and right, neither of which changes a finding. A vertical flip
    would put the cord under the vertebral body, which no scan shows.
    """
    b, _, s, _ = x.shape
    p = cfg.max_shift
    padded = F.pad(x, (p, p, p, p))  # (B, 1, S + 2p, S + 2p), zero = background
    ar = torch.arange(s, device=x.device)
    rows = torch.from_numpy(rng.integers(0, 2 * p + 1, size=b)).to(x.device)[:, None] + ar
    cols = torch.from_numpy(rng.integers(0, 2 * p + 1, size=b)).to(x.device)[:, None] + ar
    if cfg.hflip:
        flip = torch.from_numpy(rng.random(b) < 0.5).to(x.device)
        cols = torch.where(flip[:, None], cols.flip(1), cols)  # (B, S)
    batch = torch.arange(b, device=x.device)[:, None, None]
    x = padded[batch, 0, rows[:, :, None], cols[:, None, :]][:, None]  # (B, 1, S, S)
    gain = torch.from_numpy(rng.uniform(1 - cfg.max_gain, 1 + cfg.max_gain, size=(b, 1, 1, 1)))
    offset = torch.from_numpy(rng.uniform(-cfg.max_gain / 2, cfg.max_gain / 2, size=(b, 1, 1, 1)))
    return x * gain.float().to(x.device) + offset.float().to(x.device)


class WeightAverage:
    """An exponential moving average of a model's weights and buffers, kept in a twin model.

    The decay ramps up as (1 + t) / (10 + t) until it reaches ``decay``, so the first steps'
    random weights do not linger in the average of a short run.
    """

    def __init__(self, model: LesionNet, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()  # a copy, not a new net: no draw from the RNG

    @torch.no_grad()
    def update(self, model: LesionNet) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        current = model.state_dict()
        for name, avg in self.model.state_dict().items():
            if avg.dtype.is_floating_point:
                avg.lerp_(current[name], 1.0 - decay)
            else:  # BatchNorm's step counter
                avg.copy_(current[name])


def macro_auroc(probs: np.ndarray, labels: np.ndarray) -> float | None:
    """Mean AUROC over the lesion findings that have both classes in ``labels``; else None."""
    values = [auroc(probs[:, k], labels[:, k]) for k in range(labels.shape[1])]
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def fit(
    train: CropSet,
    val: CropSet | None,
    net: ClassifierConfig,
    cfg: FitConfig,
    progress: Callable[[dict], None] | None = None,
) -> FitResult:
    """Train a fresh LesionNet on ``train``, choosing weights and thresholds on ``val``.

    ``progress`` gets {step, steps, loss, val_macro_auroc, eta_s} every ``log_every`` steps
    and after every evaluation (loss: the mean since the last evaluation; score: the latest,
    None before the first). Without a usable validation set (None, or no finding with both
    classes) the last weights are kept and every threshold is 0.5.
    """
    if len(train) == 0:
        raise ValueError("no labelled crops to train on")
    for name, data in (("train", train), ("val", val)):
        if data is not None and data.labels.shape[1] != net.n_lesions:
            raise ValueError(f"{name} has {data.labels.shape[1]} findings, net {net.n_lesions}")

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = torch.device(cfg.device)
    use_amp = cfg.amp and device.type == "cuda"
    model = LesionNet(net).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    # the whole training set is a few tens of MB at 64 px: keep it on the device
    x_all = torch.from_numpy(train.crops).to(device)  # (N, 1, S, S)
    y_all = torch.from_numpy(train.labels).float().to(device)  # (N, K)
    p_all = torch.from_numpy(train.planes).to(device)  # (N,)
    s_all = torch.from_numpy(train.sequences).to(device)  # (N,)
    groups = finding_groups(train.labels)
    average = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay is not None else None
    judged = average.model if average is not None else model  # what is evaluated and kept

    result = FitResult(model=model, thresholds=np.full(net.n_lesions, 0.5))
    best_state, evals_since_best = None, 0
    score = None  # the latest validation macro AUROC, reported between evaluations
    loss_sum, n_loss = 0.0, 0
    t0 = time.perf_counter()
    model.train()
    for step in range(cfg.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        idx = torch.from_numpy(balanced_batch(groups, cfg.batch_size, rng)).to(device)
        x = augment(x_all[idx], cfg, rng)  # (B, 1, S, S)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            logits = model(x, p_all[idx], s_all[idx])  # (B, K)
            loss = F.binary_cross_entropy_with_logits(logits.float(), y_all[idx])
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if average is not None:
            average.update(model)
        result.steps = step + 1
        loss_sum += loss.item()
        n_loss += 1

        evaluate = result.steps % cfg.eval_every == 0 or result.steps == cfg.steps
        if not evaluate and (progress is None or result.steps % cfg.log_every):
            continue
        record = {"step": result.steps, "loss": loss_sum / n_loss, "val_macro_auroc": score}
        if evaluate:
            score = None
            if val is not None and len(val):
                probs = predict(judged, val.crops, val.planes, val.sequences)
                score = macro_auroc(probs, val.labels)
                model.train()
            record["val_macro_auroc"] = score
            result.history.append(record)
            loss_sum, n_loss = 0.0, 0
        if progress is not None:
            eta = (time.perf_counter() - t0) / result.steps * (cfg.steps - result.steps)
            progress({**record, "steps": cfg.steps, "eta_s": eta})
        if not evaluate or score is None:
            continue
        if result.best_val_macro_auroc is None or score > result.best_val_macro_auroc:
            result.best_val_macro_auroc, result.best_step = score, result.steps
            best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
            evals_since_best = 0
        else:
            evals_since_best += 1
            if cfg.patience is not None and evals_since_best >= cfg.patience:
                result.stopped_early = True
                break

    if average is not None:
        model.load_state_dict(average.model.state_dict())  # the last average, unless...
    if best_state is not None:
        model.load_state_dict(best_state)  # ...an evaluation chose earlier weights
        probs = predict(model, val.crops, val.planes, val.sequences)
        result.thresholds = youden_thresholds(probs, val.labels)
    else:
        result.best_step = result.steps
    model.eval()
    result.seconds = time.perf_counter() - t0
    return result
