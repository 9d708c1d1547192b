"""Rows for tests that need slices but not their pixels."""

import itertools

from annotator.models import Dog, Series, Slice, Study

_ids = itertools.count(1)


def make_series(
    plane: str = "sagittal", sequence: str = "T2W", slices: int = 5, split: str = "train"
) -> Series:
    n = next(_ids)
    dog = Dog.objects.create(patient_id=f"DOG-{n:04d}", split=split)
    study = Study.objects.create(dog=dog, study_instance_uid=f"1.2.826.0.1.9.{n}")
    series = Series.objects.create(
        study=study, series_instance_uid=f"1.2.826.0.1.9.{n}.1", plane=plane, sequence=sequence
    )
    Slice.objects.bulk_create(
        Slice(
            series=series,
            sop_instance_uid=f"1.2.826.0.1.9.{n}.1.{i}",
            instance_number=i,
            position_mm=3.0 * i,
            rows=64,
            columns=64,
            file_path=f"none/{n}/{i}.dcm",
            file_sha256="0" * 64,
        )
        for i in range(1, slices + 1)
    )
    return series
