"""The second eye as JSON: Alice, a vet, opens newly ingested studies and reads what the
served model suspects, beside how well it did on the test dogs. Anonymous gets nothing."""

import io
import struct
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image, ImageStat
from pydicom.data import get_testdata_file
from rest_framework.test import APIClient

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance, Series, Study
from annotator.labeling.models import Label
from annotator.learning import registry
from annotator.learning.dataset import LESIONS
from annotator.learning.models import Evaluation, ModelVersion, Prediction, TrainingRun
from ml.report import table2
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db

# ivde, ivdp, fce_annpe, syringomyelia, neoplasia
THRESHOLDS = [0.5, 0.3, 0.5, 0.5, 0.5]


def served_model(thresholds: list[float] = THRESHOLDS) -> ModelVersion:
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    version = ModelVersion.objects.create(
        run=run,
        checkpoint_key=f"ab/{run.pk}.pt",
        config={"lesions": LESIONS, "thresholds": thresholds},
    )
    registry.promote_if_chosen(version, 0.9, registry.promoted(), None)
    version.refresh_from_db()
    return version


def predict(model: ModelVersion, instance: Instance, **lesion_probs: float) -> Prediction:
    """The model's stored probabilities for one slice (unlisted lesions at 0.05)."""
    probs = {lesion: lesion_probs.get(lesion, 0.05) for lesion in LESIONS}
    probs["unremarkable"] = 1 - max(probs.values())
    top = max(LESIONS, key=probs.get)
    return Prediction.objects.create(
        instance=instance, model=model, finding=top, probabilities=probs
    )


def report_on_test_dogs(model: ModelVersion) -> dict:
    """A real Table-2 report of four test dogs: IVDE found in 2 of 3 dogs that have it."""
    truth = np.zeros((4, len(LESIONS)), dtype=bool)
    truth[:3, 0] = True
    probs = np.full((4, len(LESIONS)), 0.1)
    probs[:2, 0] = 0.9
    body = table2(
        probs,
        truth,
        np.array(THRESHOLDS),
        LESIONS,
        ["sagittal"] * 4,
        ["T2W"] * 4,
        [1, 2, 3, 4],
    )
    Evaluation.objects.create(model=model, split="test", n=4, metrics=body)
    return body


def add_series(study: Study, plane: str, sequence: str, slices: int) -> Series:
    series = Series.objects.create(
        study=study,
        series_instance_uid=f"{study.study_instance_uid}.{plane}",
        plane=plane,
        sequence=sequence,
        series_number=2,
    )
    for i in range(1, slices + 1):
        Instance.objects.create(
            series=series,
            sop_instance_uid=f"{series.series_instance_uid}.{i}",
            instance_number=i,
            position_mm=4.0 * i,
            rows=64,
            columns=64,
            file_key=f"00/none-{series.pk}-{i}.dcm",
            file_sha256="0" * 64,
        )
    return series


@pytest.fixture
def study_with_ivde():
    """A study: sagittal T2W (5 slices) with IVDE peaking on slice 3 and faint IVDP on slice
    5, transverse T1W (3 slices) with nothing above its threshold."""
    sagittal = make_series(plane="sagittal", sequence="T2W", slices=5)
    Series.objects.filter(pk=sagittal.pk).update(series_number=1)
    transverse = add_series(sagittal.study, "transverse", "T1W", 3)
    model = served_model()
    for instance, ivde in zip(sagittal.instances.all(), [0.1, 0.7, 0.9, 0.6, 0.2], strict=True):
        predict(model, instance, ivde=ivde, ivdp=0.35 if instance.instance_number == 5 else 0.05)
    for instance, neoplasia in zip(transverse.instances.all(), [0.2, 0.45, 0.3], strict=True):
        predict(model, instance, neoplasia=neoplasia)
    return sagittal.study


def read(user, study: Study) -> dict:
    response = client_for(user).get(f"/api/studies/{study.pk}/read/")
    assert response.status_code == 200
    return response.json()


def test_an_anonymous_visitor_gets_nothing(study_with_ivde):
    anonymous = APIClient()
    slice_id = Instance.objects.first().pk
    assert anonymous.get("/api/studies/").status_code == 403
    assert anonymous.get(f"/api/studies/{study_with_ivde.pk}/read/").status_code == 403
    assert anonymous.get(f"/api/slices/{slice_id}/preview.png").status_code == 403


def test_an_unknown_study_or_slice_is_a_404(alice):
    client = client_for(alice)
    assert client.get("/api/studies/424242/read/").status_code == 404
    assert client.get("/api/slices/424242/preview.png").status_code == 404


def test_findings_per_series_are_ranked_with_the_most_probable_first(alice, study_with_ivde):
    body = read(alice, study_with_ivde)
    assert (body["status"], body["slices"], body["scored"]) == ("scored", 8, 8)
    sagittal, transverse = body["series"]
    assert (sagittal["plane"], sagittal["sequence"], sagittal["slices"]) == ("sagittal", "T2W", 5)
    ranked = [(f["finding"], f["probability"], f["called"]) for f in sagittal["findings"]]
    assert ranked[:2] == [("ivde", 0.9, True), ("ivdp", 0.35, True)]  # IVDP's threshold: 0.3
    numbers = dict(Instance.objects.values_list("pk", "instance_number"))
    ivde_keys = sagittal["findings"][0]["key_slices"]
    assert [(numbers[k["id"]], k["probability"]) for k in ivde_keys] == [
        (3, 0.9),
        (2, 0.7),
        (4, 0.6),
    ]
    assert ivde_keys[0]["position_mm"] == 9.0
    assert numbers[sagittal["findings"][1]["key_slices"][0]["id"]] == 5
    assert all(f["key_slices"] == [] for f in sagittal["findings"][2:])  # not called, not top
    # Nothing called on the transverse series: its most likely finding still shows its slices.
    top = transverse["findings"][0]
    assert (top["finding"], top["probability"], top["called"]) == ("neoplasia", 0.45, False)
    assert len(top["key_slices"]) == 3


def test_the_dog_level_call_comes_with_its_uncertainty_and_the_test_dogs_numbers(
    alice, study_with_ivde
):
    report = report_on_test_dogs(ModelVersion.objects.get(status="promoted"))
    body = read(alice, study_with_ivde)
    assert body["call"] == ["ivde", "ivdp"]
    calls = {c["finding"]: c for c in body["dog_calls"]}
    assert [c["finding"] for c in body["dog_calls"]][:3] == ["ivde", "neoplasia", "ivdp"]
    assert (calls["ivde"]["called"], calls["ivde"]["uncertainty"]) == (True, "low")  # p 0.9
    assert (calls["ivdp"]["called"], calls["ivdp"]["uncertainty"]) == (True, "high")  # p 0.35
    assert calls["neoplasia"]["called"] is False
    assert calls["unremarkable"]["called"] is False
    ivde = calls["ivde"]["test_dogs"]
    assert ivde == report["dogs"]["per_finding"]["ivde"]
    assert (ivde["tp"], ivde["fn"], ivde["sensitivity"]) == (2, 1, pytest.approx(2 / 3))
    assert body["test_dogs"] == 4


def test_a_study_with_nothing_above_a_threshold_is_unremarkable(alice):
    series = make_series(slices=3)
    model = served_model()
    for instance in series.instances.all():
        predict(model, instance, ivde=0.2)
    body = read(alice, series.study)
    assert body["call"] == ["unremarkable"]
    unremarkable = body["dog_calls"][-1]
    assert (unremarkable["finding"], unremarkable["called"]) == ("unremarkable", True)
    assert unremarkable["probability"] == pytest.approx(0.8)
    assert not any(c["called"] for c in body["dog_calls"][:-1])
    assert unremarkable["test_dogs"] is None  # no report on the test dogs yet
    assert body["test_dogs"] is None


def test_a_study_is_called_at_the_dog_level_cut_not_the_slice_cut(alice):
    # a slice cut of 0.1 for neoplasia would call nearly every dog on its highest slice;
    # the version's dog-level cut (chosen on the validation dogs' highest slices) decides
    series = make_series(slices=3)
    model = served_model()
    model.config["thresholds"][4] = 0.1
    model.config["dog_thresholds"] = [0.5, 0.3, 0.5, 0.5, 0.6]
    model.save(update_fields=["config"])
    for instance in series.instances.all():
        predict(model, instance, neoplasia=0.3)
    body = read(alice, series.study)
    neoplasia = next(c for c in body["dog_calls"] if c["finding"] == "neoplasia")
    assert (neoplasia["called"], neoplasia["threshold"]) == (False, 0.6)
    assert body["call"] == ["unremarkable"]
    series_call = next(f for f in body["series"][0]["findings"] if f["finding"] == "neoplasia")
    assert not series_call["called"]
    listed = client_for(alice).get("/api/studies/").json()
    row = next(r for r in listed["results"] if r["study"]["id"] == series.study_id)
    assert row["suspected"] == []


def test_without_a_served_model_the_read_says_so(alice):
    series = make_series(slices=2)
    body = read(alice, series.study)
    assert (body["status"], body["model"], body["call"]) == ("no_model", None, [])
    assert body["series"][0]["slices"] == 2


def test_slices_scored_by_a_retired_model_do_not_count(alice):
    series = make_series(slices=4)
    old = served_model()
    for instance in series.instances.all():
        predict(old, instance, ivde=0.9)
    new = served_model()
    predict(new, series.instances.first(), ivde=0.1)
    body = read(alice, series.study)
    assert (body["status"], body["model"], body["scored"], body["slices"]) == (
        "partly_scored",
        new.pk,
        1,
        4,
    )
    assert body["call"] == ["unremarkable"]
    served_model()  # a third version serves now and has scored nothing
    assert read(alice, series.study)["status"] == "not_scored"


def test_the_list_shows_the_newest_studies_first_with_their_status(
    alice, bob, study_with_ivde, django_assert_max_num_queries
):
    model = ModelVersion.objects.get(status="promoted")
    unscored = make_series(slices=2)
    quiet = make_series(slices=2)
    for instance in quiet.instances.all():
        predict(model, instance, ivde=0.1)
    now = timezone.now()
    for study, days_ago in [(study_with_ivde, 0), (unscored.study, 2), (quiet.study, 1)]:
        Study.objects.filter(pk=study.pk).update(created_at=now - timedelta(days=days_ago))
    # Alice labeled a slice of the unscored study; Bob withdrew his label in the quiet one.
    Label.objects.create(
        instance=unscored.instances.first(), reader=alice, author=alice, findings=["ivde"]
    )
    for version, withdrawn in [(1, False), (2, True)]:
        Label.objects.create(
            instance=quiet.instances.first(),
            reader=bob,
            author=bob,
            version=version,
            findings=["ivde"],
            withdrawn=withdrawn,
        )
    client = client_for(alice)
    with django_assert_max_num_queries(9):
        body = client.get("/api/studies/").json()
    assert body["count"] == 3
    rows = {r["study"]["id"]: r for r in body["results"]}
    assert [r["study"]["id"] for r in body["results"]] == [
        study_with_ivde.pk,
        quiet.study.pk,
        unscored.study.pk,
    ]
    assert rows[study_with_ivde.pk]["summary"] == "scored: 2 suspected findings"
    assert rows[study_with_ivde.pk]["suspected"] == ["ivde", "ivdp"]
    assert rows[quiet.study.pk]["summary"] == "scored: 0 suspected findings"
    assert (rows[unscored.study.pk]["status"], rows[unscored.study.pk]["summary"]) == (
        "not_scored",
        "not scored",
    )
    assert rows[unscored.study.pk]["labeled_slices"] == 1
    assert rows[quiet.study.pk]["labeled_slices"] == 0  # withdrawn
    assert rows[study_with_ivde.pk]["labeled_slices"] == 0


def test_the_preview_is_a_png_of_the_slice_at_its_own_size(alice):
    ingest_paths([Path(get_testdata_file("MR_small.dcm", download=False))])
    instance = Instance.objects.get()
    response = client_for(alice).get(f"/api/slices/{instance.pk}/preview.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private")
    body = response.content
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", body[16:24]) == (instance.columns, instance.rows)
    image = Image.open(io.BytesIO(body))
    image.load()  # decodes every row: a broken stream raises here
    assert image.size == (instance.columns, instance.rows)
    grey = image.convert("L")
    assert ImageStat.Stat(grey).stddev[0] > 20  # windowed, not a flat square
    assert grey.getextrema() == (0, 255)


def test_a_slice_whose_file_is_missing_has_no_preview(alice):
    slice_id = make_series(slices=1).instances.get().pk
    response = client_for(alice).get(f"/api/slices/{slice_id}/preview.png")
    assert response.status_code == 404
    assert "missing" in response.json()["detail"]
