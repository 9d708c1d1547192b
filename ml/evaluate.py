"""Held-out metrics for a SliceNet: accuracy, macro F1, and one-vs-rest counts per class.

Everything returned is JSON-serialisable (plain ints, floats, lists, None). A ratio whose
denominator is 0 is None rather than NaN: "no positives to find" is not a number, and NaN is
not valid JSON.
"""

import math
from collections.abc import Sequence

import numpy as np

from ml.model import SliceNet
from ml.score import predict_proba


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (95% for z=1.96); None when n is 0.

    Preferred over the normal approximation because it stays inside 0..1 and behaves at
    small n and at 0% or 100%, which per-class counts in a small study often hit.
    """
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..n, got {successes}/{n}")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _interval(num: int, den: int) -> list[float] | None:
    ci = wilson_interval(num, den)
    return None if ci is None else list(ci)


def metrics_from_predictions(
    labels: np.ndarray, predictions: np.ndarray, class_names: Sequence[str]
) -> dict:
    """Metrics from true and predicted class indices (N,), both in 0..len(class_names)-1."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ")
    c = len(class_names)
    for name, a in (("labels", labels), ("predictions", predictions)):
        if len(a) and (a.min() < 0 or a.max() >= c):
            raise ValueError(f"{name} must lie in 0..{c - 1}")
    n = len(labels)
    # confusion[i, j]: how many slices of true class i were predicted as class j
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)

    per_class = {}
    f1s = []
    for k, name in enumerate(class_names):
        tp = int(confusion[k, k])
        fn = int(confusion[k].sum()) - tp
        fp = int(confusion[:, k].sum()) - tp
        tn = n - tp - fn - fp
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        if f1 is not None:
            f1s.append(f1)
        per_class[name] = {
            "n_pos": tp + fn,
            "n_neg": tn + fp,
            "tp": tp,
            "fn": fn,
            "tn": tn,
            "fp": fp,
            "sensitivity": _ratio(tp, tp + fn),
            "sensitivity_ci95": _interval(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "specificity_ci95": _interval(tn, tn + fp),
            "ppv": _ratio(tp, tp + fp),
            "f1": f1,
        }
    correct = int(np.trace(confusion))
    return {
        "n": n,
        "accuracy": _ratio(correct, n),
        "accuracy_ci95": _interval(correct, n),
        # averaged over classes that occur in the labels or the predictions (as sklearn does)
        "macro_f1": sum(f1s) / len(f1s) if f1s else None,
        "class_names": list(class_names),
        "confusion": confusion.tolist(),
        "per_class": per_class,
    }


def evaluate(
    model: SliceNet, images: np.ndarray, labels: np.ndarray, class_names: list[str]
) -> dict:
    """Predict images (N, 1, H, W) with their top class and compare with labels (N,)."""
    if len(class_names) != model.config.n_classes:
        raise ValueError(f"{len(class_names)} class names for {model.config.n_classes} classes")
    predictions = predict_proba(model, images).argmax(axis=1)
    return metrics_from_predictions(labels, predictions, class_names)


def macro_auroc_one_vs_rest(probs: np.ndarray, labels: np.ndarray) -> float | None:
    """Mean one-vs-rest AUROC over the classes that have both positives and negatives.

    The promotion rule compares two versions with it on the same validation slices; None
    when no class can be measured (too few labels).
    """
    from ml.report import auroc

    labels = np.asarray(labels, dtype=np.int64)
    values = [
        auroc(probs[:, c], labels == c)
        for c in range(probs.shape[1])
        if 0 < int((labels == c).sum()) < len(labels)
    ]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None
