"""Rows for tests that need slices but not their pixels."""

import itertools

from annotator.imaging.models import Dog, Instance, Series, Study
from annotator.worklist.items import add_new_instances

_ids = itertools.count(1)


def make_series(
    plane: str = "sagittal", sequence: str = "T2W", slices: int = 5, split: str = "train"
) -> Series:
    """A dog with one series of `slices` 64×64 slices, each with its queue item."""
    n = next(_ids)
    dog = Dog.objects.create(patient_id=f"DOG-{n:04d}", split=split)
    study = Study.objects.create(dog=dog, study_instance_uid=f"1.2.826.0.1.9.{n}")
    series = Series.objects.create(
        study=study, series_instance_uid=f"1.2.826.0.1.9.{n}.1", plane=plane, sequence=sequence
    )
    Instance.objects.bulk_create(
        Instance(
            series=series,
            sop_instance_uid=f"1.2.826.0.1.9.{n}.1.{i}",
            instance_number=i,
            position_mm=3.0 * i,
            rows=64,
            columns=64,
            file_key=f"00/none-{n}-{i}.dcm",
            file_sha256="0" * 64,
        )
        for i in range(1, slices + 1)
    )
    add_new_instances()
    return series


def label_next(user, findings: list[str] | None = None):
    """The user asks the queue for a slice and labels it; returns the label, or None."""
    from annotator.labeling.services import LabelContent, submit
    from annotator.worklist.claim import claim

    claimed = claim(user)
    if claimed is None:
        return None
    label, _ = submit(user, claimed.current.pk, LabelContent(findings=findings or ["ivde"]))
    return label
