"""What the model learns from: each slice's label as it stands now."""

import pytest

from annotator.labeling.services import LabelContent, edit, submit, withdraw
from annotator.learning import training
from annotator.worklist.claim import claim
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


def lesions_of(data: training.Labeled, row: int) -> list[str]:
    return [
        lesion for lesion, hit in zip(training.dataset.LESIONS, data.truth[row], strict=True) if hit
    ]


def test_training_uses_the_latest_version_of_a_label(alice):
    make_series(slices=2, split="train")
    label = label_next(alice, ["ivde"])
    edit(alice, label.pk, LabelContent(findings=["neoplasia", "ivdp"]), version=1)
    data = training.labeled("train")
    assert [i.pk for i in data.instances] == [label.instance_id]
    assert lesions_of(data, 0) == ["ivdp", "neoplasia"]


def test_withdrawn_and_cant_tell_labels_never_train(alice):
    make_series(slices=3, split="train")
    withdrawn = label_next(alice, ["ivde"])
    withdraw(alice, withdrawn.pk)
    held = claim(alice)
    submit(alice, held.current.pk, LabelContent(cant_tell="poor_quality"))
    kept = label_next(alice, ["unremarkable"])
    data = training.labeled("train")
    assert [i.pk for i in data.instances] == [kept.instance_id]
    assert lesions_of(data, 0) == []  # unremarkable: no lesion


def test_lesion_boxes_come_with_their_finding(alice):
    make_series(slices=1, split="train")
    held = claim(alice)
    box = {"finding": "ivdp", "x": 3, "y": 4, "width": 5, "height": 6}
    submit(alice, held.current.pk, LabelContent(findings=["ivdp"], boxes=[box]))
    data = training.labeled("train")
    assert data.lesion_boxes == [[(training.dataset.LESIONS.index("ivdp"), [3.0, 4.0, 5.0, 6.0])]]


def test_only_the_splits_own_dogs_are_used(alice):
    make_series(slices=1, split="val")
    label_next(alice, ["ivde"])
    assert training.labeled("train").instances == []
    assert len(training.labeled("val").instances) == 1
