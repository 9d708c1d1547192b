"""What the served model says about given slices, for the pages (no torch here)."""

from annotator.learning.models import Prediction, Score
from annotator.learning.registry import promoted


def for_instances(instance_ids: list[int]) -> dict[int, tuple[Prediction, float | None]]:
    """{instance id: (prediction, entropy)} under the promoted model; missing if unscored."""
    model = promoted()
    if model is None or not instance_ids:
        return {}
    predictions = Prediction.objects.filter(model=model, instance_id__in=instance_ids)
    entropy = dict(
        Score.objects.filter(
            model=model, instance_id__in=instance_ids, measure=Score.Measure.ENTROPY
        ).values_list("instance_id", "value")
    )
    return {p.instance_id: (p, entropy.get(p.instance_id)) for p in predictions}
