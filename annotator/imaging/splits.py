"""Dog-level train/val/test split, drawn once when a dog is first ingested.

Retraining never moves a dog between splits, so no dog's images can leak from the
validation or test set into training.
"""

from annotator.imaging.models import Dog
from annotator.vocab import Split

# The reference study held out 125 of 500 dogs for testing.
TARGET_FRACTIONS: dict[str, float] = {Split.TRAIN: 0.6, Split.VAL: 0.15, Split.TEST: 0.25}


def next_split() -> str:
    """The split furthest below its target share once one more dog is added.

    Deterministic in ingest order, and it fills validation and test early, so that even a
    small cohort has dogs to measure on.
    """
    counts = {split: Dog.objects.filter(split=split).count() for split in TARGET_FRACTIONS}
    total = sum(counts.values()) + 1
    return max(TARGET_FRACTIONS, key=lambda s: TARGET_FRACTIONS[s] * total - counts[s])
