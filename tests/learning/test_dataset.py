"""What the model learns from: each slice's label as it stands now."""

import pytest

from annotator.labeling.services import LabelContent, edit, withdraw
from annotator.learning import dataset
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


def test_training_uses_the_latest_version_of_a_label(alice):
    make_series(slices=2, split="train")
    label = label_next(alice, ["ivde"])
    edit(alice, label.pk, LabelContent(findings=["neoplasia"]), version=1)
    instances, classes = dataset.labeled("train")
    assert [i.pk for i in instances] == [label.instance_id]
    assert [dataset.FINDINGS[c] for c in classes] == ["neoplasia"]


def test_withdrawn_and_cant_tell_labels_never_train(alice):
    make_series(slices=3, split="train")
    withdrawn = label_next(alice, ["ivde"])
    withdraw(alice, withdrawn.pk)
    from annotator.labeling.services import submit
    from annotator.worklist.claim import claim

    held = claim(alice)
    submit(alice, held.current.pk, LabelContent(cant_tell="poor_quality"))
    kept = label_next(alice, ["ivdp"])
    instances, _ = dataset.labeled("train")
    assert [i.pk for i in instances] == [kept.instance_id]


def test_only_the_splits_own_dogs_are_used(alice):
    make_series(slices=1, split="val")
    label_next(alice, ["ivde"])
    assert dataset.labeled("train")[0] == []
    assert len(dataset.labeled("val")[0]) == 1


@pytest.mark.parametrize(
    ("findings", "primary"),
    [(["unremarkable"], "unremarkable"), (["ivdp", "ivde"], "ivde"), (["neoplasia"], "neoplasia")],
)
def test_a_label_with_several_findings_trains_as_its_first_lesion(findings, primary):
    assert dataset.primary_finding(findings) == primary
