"""The other series of a slice's study: Alice, a vet labeling a transverse slice, asks for
the study's sagittal series to see where the slice lies. Anonymous visitors get nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db


def url(slice_id: int) -> str:
    return reverse("slice-study-series", args=[slice_id])


def test_alice_gets_the_four_series_of_a_cohort_slices_study(alice, tiny_cohort):
    first_dog = sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]
    ingest_paths([first_dog])
    transverse = Instance.objects.filter(series__plane="transverse").first()

    response = client_for(alice).get(url(transverse.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["study"] == transverse.series.study_id
    kinds = sorted((s["plane"], s["sequence"]) for s in body["series"])
    assert kinds == [
        ("sagittal", "T1W"),
        ("sagittal", "T2W"),
        ("transverse", "T1W"),
        ("transverse", "T2W"),
    ]
    own = next(s for s in body["series"] if s["id"] == transverse.series_id)
    assert transverse.pk in [s["id"] for s in own["slices"]]
    for series in body["series"]:
        assert len(series["slices"]) == Instance.objects.filter(series_id=series["id"]).count()
        positions = [s["position_mm"] for s in series["slices"]]
        # Slices come in anatomical order, each with the URL its image is fetched from.
        assert positions == sorted(positions)
        for item in series["slices"]:
            assert item["dicom_url"] == reverse("slice-dicom", args=[item["id"]])


def test_only_the_slices_own_study_is_listed(alice):
    mine = make_series(plane="transverse", slices=3)
    make_series(plane="sagittal", slices=4)  # another dog's study

    body = client_for(alice).get(url(mine.instances.first().pk)).json()

    assert [s["id"] for s in body["series"]] == [mine.pk]
    assert [s["position_mm"] for s in body["series"][0]["slices"]] == [3.0, 6.0, 9.0]


def test_a_reviewer_may_look_too(rita):
    series = make_series(slices=2)
    assert client_for(rita).get(url(series.instances.first().pk)).status_code == 200


def test_an_unknown_slice_is_404(alice):
    response = client_for(alice).get(url(999_999))
    assert response.status_code == 404
    assert response.json()["detail"] == "no such slice"


def test_anonymous_visitors_are_refused(db):
    series = make_series(slices=2)
    response = APIClient().get(url(series.instances.first().pk))
    assert response.status_code == 403


def test_an_account_without_a_role_is_refused(db):
    nobody = get_user_model().objects.create_user("nobody", password="nobody-pass-123")
    series = make_series(slices=2)
    response = client_for(nobody).get(url(series.instances.first().pk))
    assert response.status_code == 403
    assert "no role" in response.json()["detail"]
