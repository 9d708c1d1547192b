"""The evaluation report of a model version on the frozen test dogs (the reference study's
Table 2 and what stands behind it), computed by the worker and stored as an Evaluation.

Until the multi-label model arrives, the softmax's lesion columns serve as the lesions'
probabilities, with per-lesion thresholds chosen on the validation dogs (Youden's J).
"""

import numpy as np

from annotator.learning import dataset
from annotator.learning.models import Evaluation, ModelVersion
from annotator.vocab import FINDINGS, Split
from ml import report


def lesion_probs(probs: np.ndarray) -> np.ndarray:
    """(N, lesions) from the softmax over FINDINGS (unremarkable is column 0)."""
    return probs[:, [FINDINGS.index(lesion) for lesion in dataset.LESIONS]]


def thresholds_on(val_probs: np.ndarray, val_truth: np.ndarray) -> list[float]:
    return [float(t) for t in report.youden_thresholds(lesion_probs(val_probs), val_truth)]


def test_report(version: ModelVersion, predict, size: int) -> dict:
    """Score the test split's labeled slices with `predict` and store the report."""
    instances, truth = dataset.labeled_findings(Split.TEST)
    thresholds = np.array(
        version.config.get("thresholds") or [0.5] * len(dataset.LESIONS), dtype=float
    )
    probs = lesion_probs(predict(dataset.model_inputs(instances, size)))
    body = report.table2(
        probs,
        truth,
        thresholds,
        dataset.LESIONS,
        [i.series.plane for i in instances],
        [i.series.sequence for i in instances],
        [i.series.study.dog_id for i in instances],
    )
    body = {"model_version": version.pk, "split": Split.TEST.value, **body}
    Evaluation.objects.update_or_create(
        model=version, split=Split.TEST, defaults={"n": len(instances), "metrics": body}
    )
    return body
