"""Exporting the labels as they stand, in the format `manage.py import_labels` reads.

One row per label chain whose newest version stands (not withdrawn, not rejected): the
slice's SOP Instance UID, the findings (";"-separated), "can't tell" with its reason, the
boxes as JSON in the label API's shape, plus where it stands (status after review, reader,
version, the dog's split). Rows stream from the database in chunks, so a large clinic's
export never sits in memory at once. Who exported and how much is recorded in the audit
trail by the caller.
"""

import csv
import io
import json
from collections.abc import Iterator

from annotator.review import status

COLUMNS = [
    "sop_instance_uid",
    "findings",
    "cant_tell",
    "boxes",
    "status",
    "reader",
    "version",
    "split",
    "patient_id",
]
CHUNK = 2000


def standing_labels(accepted_only: bool = False):
    """The newest version of every chain that still stands, oldest slice first."""
    labels = status.with_status(status.current_versions()).filter(withdrawn=False)
    if accepted_only:
        labels = labels.filter(status__in=status.ACCEPTED)
    return labels.order_by("instance_id", "reader_id").values_list(
        "instance__sop_instance_uid",
        "findings",
        "cant_tell",
        "boxes",
        "status",
        "reader__username",
        "version",
        "instance__series__study__dog__split",
        "instance__series__study__dog__patient_id",
    )


def csv_lines(accepted_only: bool = False) -> Iterator[str]:
    """The export as CSV text, a header line then one line per standing label."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    rows = standing_labels(accepted_only).iterator(chunk_size=CHUNK)
    for uid, findings, cant_tell, boxes, state, reader, version, split, patient in rows:
        writer.writerow(
            [
                uid,
                ";".join(findings),
                cant_tell,
                json.dumps(boxes, separators=(",", ":")),
                state,
                reader,
                version,
                split,
                patient,
            ]
        )
        yield flush()


def count(accepted_only: bool = False) -> int:
    return standing_labels(accepted_only).count()
