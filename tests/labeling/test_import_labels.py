"""A clinic's existing labels, imported from a CSV with `manage.py import_labels`."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pydicom.data import get_testdata_file

from annotator.audit.models import AuditEvent
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, submit, withdraw
from annotator.worklist import items
from annotator.worklist.claim import claim
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db

COLUMNS = ["sop_instance_uid", "findings", "cant_tell", "boxes", "comment"]


def write_csv(path: Path, rows: list[dict], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(path: Path, annotator: str = "alice") -> dict:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_labels", str(path), "--annotator", annotator, "--json", stdout=out, stderr=err
    )
    return json.loads(out.getvalue())


@pytest.fixture
def slices() -> list[Instance]:
    """Eight 64×64 slices, each in the labeling queue."""
    series = make_series(slices=8)
    return list(series.instances.order_by("instance_number"))


def test_the_cohort_manifest_imports_the_slices_that_were_ingested(tiny_cohort, alice):
    first_dog = sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]
    ingest_paths([first_dog])
    ingested = Instance.objects.count()
    assert ingested > 0 and items.remaining() == ingested
    with (tiny_cohort / "manifest.csv").open(encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle))
    mine = {
        r["sop_instance_uid"]: r["findings"].split(";")
        for r in manifest
        if r["path"].startswith(first_dog.name + "/")
    }

    report = run_import(tiny_cohort / "manifest.csv")

    assert report["rows"] == len(manifest)
    assert (report["imported"], report["unchanged"]) == (ingested, 0)
    assert len(report["errors"]) == len(manifest) - ingested
    assert all("unknown sop_instance_uid" in e["error"] for e in report["errors"])
    # Line 1 is the header; the other dogs' rows follow the first dog's.
    assert sorted(e["line"] for e in report["errors"]) == list(
        range(ingested + 2, len(manifest) + 2)
    )
    labels = Label.objects.select_related("instance")
    assert {label.instance.sop_instance_uid: label.findings for label in labels} == {
        uid: findings for uid, findings in mine.items()
    }
    assert {(label.source, label.reader, label.author, label.version) for label in labels} == {
        ("import", alice, alice, 1)
    }
    events = AuditEvent.objects.filter(action="label.imported")
    assert sorted(e.target_id for e in events) == sorted(label.pk for label in labels)
    assert {(e.actor, e.data["source"]) for e in events} == {(alice, "manifest.csv")}
    # Every ingested slice had its one read: the queue is empty.
    assert items.remaining() == 0
    assert claim(alice) is None


def test_a_row_with_several_findings_boxes_and_a_comment_lands_as_one_label(
    tmp_path, alice, slices
):
    box = {"finding": "ivdp", "x": 10.5, "y": 20, "width": 8, "height": 6}
    path = write_csv(
        tmp_path / "labels.csv",
        [
            {
                "sop_instance_uid": slices[0].sop_instance_uid,
                "findings": "ivdp; ivde",
                "boxes": json.dumps([box]),
                "comment": "L1-L2, left",
            }
        ],
    )

    assert run_import(path) == {"rows": 1, "imported": 1, "unchanged": 0, "errors": []}

    label = Label.objects.get()
    assert label.instance == slices[0]
    assert label.findings == ["ivde", "ivdp"]  # vocabulary order
    assert label.boxes == [{**box, "y": 20.0, "width": 8.0, "height": 6.0}]
    assert label.comment == "L1-L2, left"
    assert (label.source, label.reader, label.author, label.version) == ("import", alice, alice, 1)
    assert label.cant_tell == "" and not label.withdrawn
    event = AuditEvent.objects.get(action="label.imported")
    assert (event.actor, event.target_id) == (alice, label.pk)
    assert event.data["source"] == "labels.csv"
    assert (event.data["line"], event.data["findings"]) == (2, ["ivde", "ivdp"])


def test_importing_the_same_file_again_adds_nothing(tmp_path, alice, slices):
    rows = [
        {"sop_instance_uid": slices[0].sop_instance_uid, "findings": "ivde"},
        {"sop_instance_uid": slices[1].sop_instance_uid, "cant_tell": "artefact"},
    ]
    path = write_csv(tmp_path / "labels.csv", rows)
    assert run_import(path)["imported"] == 2
    remaining = items.remaining()

    again = run_import(path)

    assert again == {"rows": 2, "imported": 0, "unchanged": 2, "errors": []}
    assert Label.objects.count() == 2
    assert AuditEvent.objects.filter(action="label.imported").count() == 2
    assert items.remaining() == remaining


def test_changed_content_becomes_the_next_version(tmp_path, alice, slices):
    uid = slices[0].sop_instance_uid
    run_import(write_csv(tmp_path / "a.csv", [{"sop_instance_uid": uid, "findings": "ivde"}]))
    remaining = items.remaining()

    report = run_import(
        write_csv(tmp_path / "b.csv", [{"sop_instance_uid": uid, "findings": "ivdp"}])
    )

    assert report["imported"] == 1
    chain = list(Label.objects.order_by("version").values_list("version", "findings", "source"))
    assert chain == [(1, ["ivde"], "import"), (2, ["ivdp"], "import")]
    assert items.remaining() == remaining  # still one read of that slice


def test_an_import_adds_to_a_readers_own_chain_and_revives_a_withdrawn_label(
    tmp_path, alice, slices
):
    own = label_next(alice, ["ivde"])
    withdraw(alice, own.pk)
    path = write_csv(
        tmp_path / "labels.csv",
        [{"sop_instance_uid": own.instance.sop_instance_uid, "findings": "ivde"}],
    )

    assert run_import(path)["imported"] == 1

    newest = Label.objects.filter(instance=own.instance).order_by("-version").first()
    assert (newest.version, newest.source, newest.withdrawn) == (3, "import", False)
    assert Label.objects.get(version=1).source == "reader"


def test_bad_rows_are_reported_by_line_and_the_good_ones_imported(tmp_path, alice, slices):
    def uid(i: int) -> str:
        return slices[i].sop_instance_uid

    rows = [
        {"sop_instance_uid": uid(0), "findings": "ivde"},  # line 2
        {"sop_instance_uid": uid(1), "findings": "ivde;slipped_disc"},  # 3
        {"sop_instance_uid": uid(2), "findings": "ivde", "boxes": '[{"finding": "ivde",'},  # 4
        {
            "sop_instance_uid": uid(3),
            "findings": "ivde",
            "boxes": json.dumps([{"finding": "ivde", "x": 60, "y": 0, "width": 10, "height": 5}]),
        },  # 5: 64 pixels wide
        {"sop_instance_uid": "1.2.3.4.5.6.7", "findings": "ivde"},  # 6
        {"sop_instance_uid": uid(4), "findings": "ivdp", "cant_tell": "artefact"},  # 7
        {"sop_instance_uid": uid(5), "cant_tell": "blurry"},  # 8
        {"sop_instance_uid": uid(6), "findings": "unremarkable", "comment": "secret note"},  # 9
        {"sop_instance_uid": "", "findings": "ivde"},  # 10
        {
            "sop_instance_uid": uid(7),
            "findings": "ivde",
            "boxes": json.dumps([{"finding": "ivdp", "x": 1, "y": 1, "width": 2, "height": 2}]),
        },  # 11: a box for a finding the row does not give
    ]
    path = write_csv(tmp_path / "labels.csv", rows)
    out, err = io.StringIO(), io.StringIO()

    call_command("import_labels", str(path), "--annotator", "alice", stdout=out, stderr=err)

    assert out.getvalue().strip() == "10 rows: 2 imported, 0 unchanged, 8 errors"
    errors = {
        int(line.split(":")[0].split()[-1]): line for line in err.getvalue().strip().splitlines()
    }
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 10, 11]
    assert "unknown finding 'slipped_disc'" in errors[3]
    assert "not valid JSON" in errors[4]
    assert "outside the 64×64 image" in errors[5]
    assert "unknown sop_instance_uid" in errors[6]
    assert "not both" in errors[7]
    assert "unknown cant_tell" in errors[8]
    assert "sop_instance_uid is empty" in errors[10]
    assert "a box marks one of the findings" in errors[11]
    assert "secret note" not in out.getvalue() + err.getvalue()
    imported = Label.objects.order_by("instance__instance_number")
    assert [(label.instance, label.findings) for label in imported] == [
        (slices[0], ["ivde"]),
        (slices[6], ["unremarkable"]),
    ]
    assert AuditEvent.objects.filter(action="label.imported").count() == 2


def test_line_numbers_count_lines_of_the_file_not_rows(tmp_path, alice, slices):
    path = tmp_path / "labels.csv"
    path.write_text(
        "sop_instance_uid,findings,comment\n"
        f'{slices[0].sop_instance_uid},ivde,"two\nlines"\n'
        "\n"
        f"{slices[1].sop_instance_uid},nope,\n"
        f"{slices[2].sop_instance_uid},ivde,L1, L2 without quotes\n",
        encoding="utf-8",
    )

    report = run_import(path)

    assert (report["rows"], report["imported"]) == (3, 1)
    assert [e["line"] for e in report["errors"]] == [5, 6]
    assert "more cells than the header" in report["errors"][1]["error"]
    assert Label.objects.get().comment == "two\nlines"


def test_only_the_columns_it_knows_are_read(tmp_path, alice, slices):
    # Columns it does not know, and a single `finding` instead of `findings`.
    path = write_csv(
        tmp_path / "manifest.csv",
        [{"sop_instance_uid": slices[0].sop_instance_uid, "finding": "ivdp", "scanner": "[1,2]"}],
        columns=["patient_id", "sop_instance_uid", "finding", "scanner"],
    )

    assert run_import(path)["imported"] == 1
    assert Label.objects.get().findings == ["ivdp"]


def test_imported_slices_leave_the_labeling_queue(tmp_path, alice, bob, slices):
    before = items.remaining()
    done = slices[:5]
    path = write_csv(
        tmp_path / "labels.csv",
        [{"sop_instance_uid": s.sop_instance_uid, "findings": "unremarkable"} for s in done],
    )

    run_import(path)

    assert items.remaining() == before - len(done)
    offered = set()
    for user in (alice, bob):
        while (claimed := claim(user)) is not None:
            offered.add(claimed.current.pk)
            submit(user, claimed.current.pk, LabelContent(findings=["ivde"]))
    assert offered == {s.pk for s in slices[5:]}
    assert items.remaining() == 0


@pytest.mark.parametrize("who", ["nobody", "dora"])
def test_an_unknown_or_inactive_annotator_is_refused(
    tmp_path, alice, django_user_model, slices, who
):
    django_user_model.objects.create_user("dora", password="dora-pass-123", is_active=False)
    path = write_csv(
        tmp_path / "labels.csv",
        [{"sop_instance_uid": slices[0].sop_instance_uid, "findings": "ivde"}],
    )

    with pytest.raises(CommandError, match="no user 'nobody'|inactive"):
        call_command("import_labels", str(path), "--annotator", who, stdout=io.StringIO())

    assert not Label.objects.exists()
    assert not AuditEvent.objects.filter(action="label.imported").exists()


def test_a_file_where_every_row_fails_exits_with_1(tmp_path, alice, slices):
    path = write_csv(tmp_path / "labels.csv", [{"sop_instance_uid": "9.9.9", "findings": "ivde"}])
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import_labels", str(path), "--annotator", "alice", "--json", stdout=out)

    assert raised.value.returncode == 1
    assert json.loads(out.getvalue())["errors"] == [
        {"line": 2, "error": "unknown sop_instance_uid: no such slice has been ingested"}
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"patient_id,finding\nDACHS-0001,ivde\n", "no sop_instance_uid column"),
        (b"sop_instance_uid;findings\n1.2.3;ivde\n", 'separated by ";"'),
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8"),
    ],
)
def test_a_file_that_is_not_a_label_csv_is_refused(tmp_path, alice, slices, content, message):
    path = tmp_path / "labels.csv"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=message):
        call_command("import_labels", str(path), "--annotator", "alice", stdout=io.StringIO())

    assert not Label.objects.exists()


def test_a_missing_file_is_refused(tmp_path, alice):
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "import_labels",
            str(tmp_path / "nope.csv"),
            "--annotator",
            "alice",
            stdout=io.StringIO(),
        )


def test_canal_boxes_are_imported_with_the_labels_or_alone(alice, tmp_path):
    from annotator.imaging.models import CanalBox

    ingest_paths([Path(get_testdata_file("MR_small.dcm", download=False))])
    instance = Instance.objects.get()
    csv_file = tmp_path / "canal.csv"
    header = "sop_instance_uid,finding,canal_box\n"
    box = '"{""x"": %d, ""y"": 4, ""width"": 10, ""height"": 50}"'
    csv_file.write_text(f"{header}{instance.sop_instance_uid},ivde,{box % 20}\n")
    out = io.StringIO()
    call_command(
        "import_labels", str(csv_file), "--annotator", "alice", "--canal-boxes-only", stdout=out
    )
    assert CanalBox.objects.get(instance=instance).as_list() == [20.0, 4.0, 10.0, 50.0]
    assert Label.objects.count() == 0  # the diagnosis stays for the vets to give
    csv_file.write_text(f"{header}{instance.sop_instance_uid},ivde,{box % 60}\n")
    report = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_labels", str(csv_file), "--annotator", "alice", "--json", stdout=report
        )
    errors = json.loads(report.getvalue())["errors"]
    assert errors == [{"line": 2, "error": "canal_box lies outside the 64×64 image"}]
