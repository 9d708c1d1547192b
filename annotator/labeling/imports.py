"""Loading labels a clinic already has: one CSV row per slice, imported as that reader's label.

The format is the cohort manifest's CSV (comma-separated, UTF-8, a header row):

- `sop_instance_uid` (required): which slice.
- `findings`: vocabulary spellings separated by ";" (`ivde;ivdp`); without that column,
  the manifest's single `finding` column.
- `cant_tell` (optional): artefact, wrong_region or poor_quality, instead of findings.
- `boxes` (optional): a JSON list in the label API's shape,
  `[{"finding", "x", "y", "width", "height"}]`, in image pixels.
- `comment` (optional).

Other columns are ignored. Every row is checked with the API's rules and imported in its own
transaction, bypassing leases: a new version in the annotator's chain for that slice, marked
`source="import"`. A row saying what the annotator's standing label already says is
"unchanged", so importing a file twice adds nothing. Reasons given for bad rows never quote a
comment or other free text from the file.
"""

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotator.audit.log import record
from annotator.errors import Invalid, NotFound
from annotator.imaging.models import CanalBox, Instance
from annotator.labeling.models import Label
from annotator.labeling.services import MAX_BOXES, LabelContent, latest, write_version
from annotator.review import queue as review_queue
from annotator.vocab import FINDINGS, CantTell
from annotator.worklist import items

UID_COLUMN = "sop_instance_uid"
MAX_COMMENT = 2000  # as the label API
MAX_BOX_SIDE = 100_000
BOX_KEYS = ("finding", "x", "y", "width", "height")
CANT_TELL = [c.value for c in CantTell]


@dataclass
class RowError:
    line: int
    error: str


@dataclass
class ImportReport:
    """What an import did; `rows` counts the data rows read (blank lines are skipped)."""

    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "errors": [asdict(e) for e in self.errors],
        }

    def line(self) -> str:
        return (
            f"{self.rows} rows: {self.imported} imported, {self.unchanged} unchanged, "
            f"{len(self.errors)} errors"
        )


def annotator(username: str) -> AbstractBaseUser:
    """The active user whose labels the file holds."""
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        raise NotFound(f"there is no user {username!r}: create the account first")
    if not user.is_active:
        raise Invalid(f"user {username!r} is inactive: labels are imported for active users")
    return user


def read_csv(path: Path | str) -> list[tuple[int, dict]]:
    """The file's data rows as (line number, {column: value}); Invalid if it is no usable CSV.

    The whole file is read first, so a file that breaks half-way imports nothing.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(f"{Path(path).name} is not a CSV file: it is not UTF-8 text") from None
    except OSError as exc:
        raise Invalid(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_csv(text, Path(path).name)


def parse_csv(text: str, name: str = "the file") -> list[tuple[int, dict]]:
    """Rows as csv.DictReader gives them (surplus cells under None), with their first line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise Invalid(f"{name} is empty: it needs a header row with {UID_COLUMN}")
        columns = [c.strip().lower() for c in header]
        _check_header(columns, name)
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            padded = cells + [""] * (len(columns) - len(cells))
            row: dict = dict(zip(columns, padded, strict=False))
            if len(cells) > len(columns):
                row[None] = cells[len(columns) :]  # as csv.DictReader keeps surplus cells
            rows.append((line, row))
    except csv.Error as exc:
        raise Invalid(f"{name} is not readable CSV (line {reader.line_num}): {exc}") from None
    return rows


def _check_header(columns: list[str], name: str) -> None:
    if UID_COLUMN not in columns:
        hint = ""
        if len(columns) == 1 and ";" in columns[0]:
            hint = ' (its columns look separated by ";": save it as comma-separated CSV)'
        raise Invalid(f"{name} has no {UID_COLUMN} column{hint}")
    for column in (UID_COLUMN, "findings", "finding", "cant_tell", "boxes", "comment"):
        if columns.count(column) > 1:
            raise Invalid(f"{name} has the column {column} more than once")


def import_file(path: Path | str, user: AbstractBaseUser, canal_only: bool = False) -> ImportReport:
    return import_rows(read_csv(path), user, source=Path(path).name, canal_only=canal_only)


def import_rows(
    rows: Iterable[tuple[int, dict]],
    user: AbstractBaseUser,
    source: str,
    canal_only: bool = False,
) -> ImportReport:
    """Import (line, row) pairs as `user`'s labels; a bad row is reported, the rest go in."""
    if not user.is_active:
        raise Invalid("labels are imported for active users only")
    report = ImportReport()
    for line, row in rows:
        report.rows += 1
        try:
            created = _import_row(line, row, user, source, canal_only)
        except Invalid as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        if created:
            report.imported += 1
        else:
            report.unchanged += 1
    if report.imported:
        from annotator.learning import policy

        policy.labels_changed()
    return report


def _import_row(
    line: int, row: dict, user: AbstractBaseUser, source: str, canal_only: bool = False
) -> bool:
    if row.get(None):
        raise Invalid(f"the row has {len(row[None])} more cells than the header")
    uid = _cell(row, UID_COLUMN).strip()
    if not uid:
        raise Invalid(f"{UID_COLUMN} is empty")
    canal = _canal_box(_cell(row, "canal_box"))
    content = row_content(row) if not canal_only else None
    with transaction.atomic():
        instance = Instance.objects.filter(sop_instance_uid=uid).first()
        if instance is None:
            raise Invalid("unknown sop_instance_uid: no such slice has been ingested")
        if canal is not None:
            _store_canal_box(instance, canal)
        if content is None:
            return canal is not None
        # Serialises with submits and edits of the same slice, as the label API does.
        items.lock_item(instance.pk)
        content.check(instance)
        previous = latest(instance.pk, user.pk)
        if (
            previous is not None
            and not previous.withdrawn
            and previous.content() == content.as_dict()
        ):
            return False
        label = write_version(instance, user, user, content, previous, Label.Source.IMPORT)
        # An import stands accepted: it closes the chain's waiting review, if any.
        review_queue.open_items_for(label)
        record(
            "label.imported",
            actor=user,
            target=label,
            slice_id=instance.pk,
            source=source,
            line=line,
            version=label.version,
            findings=label.findings,
            cant_tell=label.cant_tell,
            boxes=len(label.boxes),
        )
    return True


def _canal_box(text: str) -> dict | None:
    """The `canal_box` cell: {"x", "y", "width", "height"} in image pixels, or None."""
    if not text.strip():
        return None
    try:
        box = json.loads(text)
    except ValueError:
        raise Invalid("canal_box is not valid JSON") from None
    if box is None:  # the canal is not on this slice (a far-lateral sagittal slice)
        return None
    if not isinstance(box, dict):
        raise Invalid('canal_box must be an object {"x", "y", "width", "height"}')
    values = {k: _coordinate(box.get(k), f"canal_box {k}") for k in ("x", "y", "width", "height")}
    if values["width"] <= 0 or values["height"] <= 0:
        raise Invalid("canal_box needs a width and a height above 0")
    return values


def _store_canal_box(instance: Instance, box: dict) -> None:
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    if right > instance.columns or bottom > instance.rows:
        raise Invalid(f"canal_box lies outside the {instance.columns}×{instance.rows} image")
    CanalBox.objects.update_or_create(instance=instance, defaults=box)


def row_content(row: dict) -> LabelContent:
    """The label a row describes, its shapes checked; the slice-specific rules come later."""
    if "findings" in row:
        findings = [f.strip() for f in _cell(row, "findings").split(";") if f.strip()]
    else:
        findings = [_cell(row, "finding").strip()] if _cell(row, "finding").strip() else []
    for finding in findings:
        if finding not in FINDINGS:
            raise Invalid(f"unknown finding {_short(finding)}; use one of {', '.join(FINDINGS)}")
    cant_tell = _cell(row, "cant_tell").strip()
    if cant_tell and cant_tell not in CANT_TELL:
        raise Invalid(f"unknown cant_tell {_short(cant_tell)}; use one of {', '.join(CANT_TELL)}")
    comment = _cell(row, "comment")
    if len(comment.strip()) > MAX_COMMENT:
        raise Invalid(f"the comment is longer than {MAX_COMMENT} characters")
    return LabelContent(
        findings=findings,
        cant_tell=cant_tell or None,
        boxes=_boxes(_cell(row, "boxes")),
        comment=comment,
    )


def _boxes(text: str) -> list[dict]:
    if not text.strip():
        return []
    try:
        boxes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"boxes is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(boxes, list):
        raise Invalid('boxes must be a JSON list: [{"finding", "x", "y", "width", "height"}]')
    if len(boxes) > MAX_BOXES:
        raise Invalid(f"at most {MAX_BOXES} boxes per slice")
    for number, box in enumerate(boxes, start=1):
        where = f"box {number}"
        if not isinstance(box, dict) or any(key not in box for key in BOX_KEYS):
            raise Invalid(f"{where} needs the keys {', '.join(BOX_KEYS)}")
        if box["finding"] not in FINDINGS:
            raise Invalid(f"{where}: unknown finding {_short(str(box['finding']))}")
        for key in BOX_KEYS[1:]:
            box[key] = _coordinate(box[key], f"{where}: {key}")
        if not 0 < box["width"] <= MAX_BOX_SIDE or not 0 < box["height"] <= MAX_BOX_SIDE:
            raise Invalid(f"{where} needs a width and a height above 0 (at most {MAX_BOX_SIDE})")
    return boxes


def _coordinate(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{what} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise Invalid(f"{what} is too large") from None
    if not math.isfinite(number) or number < 0:
        raise Invalid(f"{what} must be a finite number of at least 0")
    return number


def _cell(row: dict, column: str) -> str:
    return row.get(column) or ""  # csv.DictReader gives None for a short row's missing cells


def _short(value: str, limit: int = 32) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")
