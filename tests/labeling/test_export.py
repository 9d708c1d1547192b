"""Carol, the clinic's admin, exports the labels as they stand and can import them elsewhere."""

import csv
import io
import json

import pytest
from django.test import Client

from annotator.audit.models import AuditEvent
from annotator.labeling import services
from annotator.labeling.imports import import_rows
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent
from annotator.review.models import Decision, Review
from tests.factories import make_series

pytestmark = pytest.mark.django_db


def download(user, query: str = "") -> tuple[int, list[dict]]:
    client = Client()
    client.force_login(user)
    response = client.get(f"/labels/export.csv{query}")
    if response.status_code != 200:
        return response.status_code, []
    text = b"".join(response.streaming_content).decode()
    return 200, list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def labeled(alice, bob, rita):
    """Alice labels three slices, Bob one; Rita approves Alice's first; Alice undoes her
    third."""
    series = make_series(slices=4)
    slices = list(series.instances.order_by("id"))
    box = {"finding": "ivde", "x": 1, "y": 2, "width": 3, "height": 4}
    write = services.write_version
    first = write(slices[0], alice, alice, LabelContent(findings=["ivde"], boxes=[box]), None)
    write(slices[1], alice, alice, LabelContent(cant_tell="artefact"), None)
    third = write(slices[2], alice, alice, LabelContent(findings=["ivdp"]), None)
    Label.objects.create(
        instance=slices[2],
        reader=alice,
        author=alice,
        version=2,
        findings=["ivdp"],
        withdrawn=True,
    )
    write(slices[3], bob, bob, LabelContent(findings=["unremarkable"]), None)
    Review.objects.create(label=first, reviewer=rita, decision=Decision.APPROVE)
    return slices, third


def test_the_export_lists_every_standing_label_with_its_status(carol, labeled):
    slices, _ = labeled
    status, rows = download(carol)
    assert status == 200
    by_uid = {row["sop_instance_uid"]: row for row in rows}
    assert set(by_uid) == {
        slices[0].sop_instance_uid,
        slices[1].sop_instance_uid,
        slices[3].sop_instance_uid,
    }  # the undone label is not there
    first = by_uid[slices[0].sop_instance_uid]
    assert (first["findings"], first["status"], first["reader"]) == ("ivde", "approved", "alice")
    assert json.loads(first["boxes"]) == [
        {"finding": "ivde", "x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}
    ]
    assert by_uid[slices[1].sop_instance_uid]["cant_tell"] == "artefact"
    assert by_uid[slices[3].sop_instance_uid]["status"] == "submitted"
    event = AuditEvent.objects.filter(action="labels.exported").get()
    assert event.actor == carol and event.data["rows"] == 3


def test_accepted_only_keeps_the_approved_label(carol, labeled):
    slices, _ = labeled
    _, rows = download(carol, "?accepted=1")
    assert [row["sop_instance_uid"] for row in rows] == [slices[0].sop_instance_uid]


def test_the_export_imports_back_as_the_same_labels(carol, labeled, django_user_model):
    _, rows = download(carol)
    dora = django_user_model.objects.create_user("dora")
    report = import_rows(list(enumerate(rows, start=2)), dora, source="export.csv")
    assert report.imported == 3 and not report.errors
    imported = {
        label.instance.sop_instance_uid: (label.findings, label.cant_tell)
        for label in Label.objects.filter(reader=dora).select_related("instance")
    }
    exported = {
        row["sop_instance_uid"]: (
            row["findings"].split(";") if row["findings"] else [],
            row["cant_tell"],
        )
        for row in rows
    }
    assert imported == exported


@pytest.mark.parametrize("who", ["alice", "rita"])
def test_only_an_admin_exports(request, who, labeled):
    status, _ = download(request.getfixturevalue(who))
    assert status == 403
    assert not AuditEvent.objects.filter(action="labels.exported").exists()
