"""The evaluation report of a model version on the frozen test dogs (the reference study's
Table 2 and what stands behind it), computed by the worker and stored as an Evaluation.

The thresholds are the version's own, chosen on the validation dogs (Youden's J): one set for
slices, and one for the dog-level calls (a dog's highest slice probability).
"""

from collections.abc import Callable

import numpy as np

from annotator.learning import dataset, training
from annotator.learning.models import Evaluation, ModelVersion
from annotator.vocab import Split
from ml import report


def test_report(version: ModelVersion, predict: Callable[[list], np.ndarray]) -> dict:
    """Score the test split's labeled slices with `predict` and store the report."""
    test = training.labeled(Split.TEST)
    thresholds = np.array(
        version.config.get("thresholds") or [0.5] * len(dataset.LESIONS), dtype=float
    )
    dog_cuts = version.config.get("dog_thresholds")  # older versions: the slice thresholds
    probs = predict(test.instances) if test.instances else np.zeros((0, len(dataset.LESIONS)))
    body = report.table2(
        probs,
        test.truth,
        thresholds,
        dataset.LESIONS,
        test.planes,
        test.sequences,
        [i.series.study.dog_id for i in test.instances],
        dog_thresholds=np.array(dog_cuts, dtype=float) if dog_cuts else None,
    )
    body = {"model_version": version.pk, "split": Split.TEST.value, **body}
    Evaluation.objects.update_or_create(
        model=version, split=Split.TEST, defaults={"n": len(test.instances), "metrics": body}
    )
    return body
