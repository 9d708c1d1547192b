"""The Django admin: browsable for the clinic's admin, but history and models are read-only."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from annotator.labeling.models import Label
from annotator.learning.models import ModelVersion, TrainingRun
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol_browser(carol) -> Client:
    client = Client()
    client.force_login(carol)
    return client


@pytest.fixture
def rows(alice):
    make_series(slices=3)
    label = label_next(alice, ["ivde"])
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/abc.pt", status="promoted")
    return label, model


def test_every_admin_list_and_detail_page_opens(carol_browser, rows):
    assert carol_browser.get("/admin/").status_code == 200
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        listing = carol_browser.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert listing.status_code == 200, info
        first = model.objects.first()
        if first is not None:
            detail = carol_browser.get(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
            assert detail.status_code == 200, info


def test_the_job_dashboard_that_failed_without_redis_is_gone(carol_browser):
    assert carol_browser.get("/admin/django_rq/dashboard/").status_code == 404
    assert b"django_rq" not in carol_browser.get("/admin/").content


def test_labels_cannot_be_changed_or_deleted_in_the_admin(carol_browser, rows):
    label, _ = rows
    change = reverse("admin:labeling_label_change", args=[label.pk])
    carol_browser.post(change, {"findings": '["neoplasia"]', "version": 7})
    delete = carol_browser.post(
        reverse("admin:labeling_label_delete", args=[label.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    label.refresh_from_db()
    assert (label.findings, label.version) == (["ivde"], 1)
    assert Label.objects.count() == 1


def test_model_versions_cannot_be_edited_by_hand(carol_browser, rows):
    _, model = rows
    change = reverse("admin:learning_modelversion_change", args=[model.pk])
    carol_browser.post(change, {"status": "retired", "checkpoint_key": "../../etc/passwd"})
    model.refresh_from_db()
    assert (model.status, model.checkpoint_key) == ("promoted", "ab/abc.pt")
    page = carol_browser.get(change).content.decode()
    assert 'name="checkpoint_key"' not in page


def test_users_are_deactivated_never_deleted(carol_browser, alice):
    delete = carol_browser.post(reverse("admin:auth_user_delete", args=[alice.pk]), {"post": "yes"})
    assert delete.status_code == 403
    alice.refresh_from_db()
