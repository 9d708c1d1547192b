"""Recording, editing and withdrawing labels. Every change is a new version of the label."""

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotator.accounts.roles import is_admin
from annotator.audit.log import record
from annotator.errors import Conflict, Forbidden, Invalid, NotFound
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.review import queue as review_queue
from annotator.vocab import FINDINGS, Finding
from annotator.worklist import claim as worklist
from annotator.worklist import items
from annotator.worklist.models import LeaseKind

MAX_BOXES = 50


@dataclass
class LabelContent:
    """What a reader says about a slice, normalised so two equal answers compare equal."""

    findings: list[str] = field(default_factory=list)
    cant_tell: str | None = None
    boxes: list[dict] = field(default_factory=list)
    comment: str = ""

    def __post_init__(self) -> None:
        self.findings = sorted(set(self.findings), key=FINDINGS.index)
        self.boxes = [
            {
                "finding": str(b["finding"]),
                "x": float(b["x"]),
                "y": float(b["y"]),
                "width": float(b["width"]),
                "height": float(b["height"]),
            }
            for b in self.boxes
        ]
        self.cant_tell = self.cant_tell or None
        self.comment = (self.comment or "").strip()

    def as_dict(self) -> dict:
        return {
            "findings": self.findings,
            "cant_tell": self.cant_tell,
            "boxes": self.boxes,
            "comment": self.comment,
        }

    def check(self, instance: Instance) -> None:
        """Domain rules a serializer cannot see: boxes inside this image, consistent answer."""
        if self.cant_tell and self.findings:
            raise Invalid('a label is either findings or "can\'t tell", not both')
        if not self.cant_tell and not self.findings:
            raise Invalid('give at least one finding, or "can\'t tell" with a reason')
        if Finding.UNREMARKABLE in self.findings and len(self.findings) > 1:
            raise Invalid("unremarkable cannot be combined with another finding")
        if len(self.boxes) > MAX_BOXES:
            raise Invalid(f"at most {MAX_BOXES} boxes per slice")
        for box in self.boxes:
            if box["finding"] not in self.findings or box["finding"] == Finding.UNREMARKABLE:
                raise Invalid(f"box for {box['finding']!r}: a box marks one of the findings")
            right, bottom = box["x"] + box["width"], box["y"] + box["height"]
            if box["x"] < 0 or box["y"] < 0 or right > instance.columns or bottom > instance.rows:
                raise Invalid(
                    f"box {box} lies outside the {instance.columns}×{instance.rows} image"
                )


def latest(instance_id: int, reader_id: int) -> Label | None:
    """The newest version of one reader's label for one slice."""
    return (
        Label.objects.filter(instance_id=instance_id, reader_id=reader_id)
        .order_by("-version")
        .first()
    )


def _instance(instance_id: int) -> Instance:
    # Locks the slice's queue item: submits and edits of one slice happen one at a time.
    instance = Instance.objects.filter(pk=instance_id).first()
    if instance is None:
        raise NotFound("no such slice")
    items.lock_item(instance_id)
    return instance


def submit(user: AbstractBaseUser, instance_id: int, content: LabelContent) -> tuple[Label, bool]:
    """Label the slice the user holds. Returns (label, created).

    A repeat of the same answer (a retry, a double click) returns the stored label;
    a different answer for a slice already labeled needs an edit with its version.
    """
    with transaction.atomic():
        instance = _instance(instance_id)
        content.check(instance)
        previous = latest(instance_id, user.pk)
        if previous is not None and not previous.withdrawn:
            if previous.content() == content.as_dict():
                return previous, False
            raise Conflict(
                f"you already labeled this slice (version {previous.version}); "
                "to change it, edit that version"
            )
        lease = worklist.require_current(user, instance_id, LeaseKind.LABEL)
        label = write_version(instance, user, user, content, previous)
        review_queue.open_items_for(label)
        lease.delete()
        record("label.submitted", actor=user, target=label, slice_id=instance_id, **_summary(label))
        _after_commit()
    return label, True


def edit(user: AbstractBaseUser, label_id: int, content: LabelContent, version: int) -> Label:
    """A new version of an existing label, by its reader or an admin; stale versions 409."""
    with transaction.atomic():
        label = Label.objects.filter(pk=label_id).first()
        if label is None:
            raise NotFound("no such label")
        instance = _instance(label.instance_id)
        return _edit_chain(user, instance, label.reader, content, version)


def edit_own(
    user: AbstractBaseUser, instance_id: int, content: LabelContent, version: int
) -> Label:
    """The reader's edit through the submit endpoint (`version` in the body)."""
    with transaction.atomic():
        instance = _instance(instance_id)
        return _edit_chain(user, instance, user, content, version)


def _edit_chain(
    user: AbstractBaseUser,
    instance: Instance,
    reader: AbstractBaseUser,
    content: LabelContent,
    version: int,
) -> Label:
    if reader.pk != user.pk and not is_admin(user):
        raise Forbidden("only the reader or an admin can change this label")
    content.check(instance)
    previous = latest(instance.pk, reader.pk)
    if previous is None:
        raise NotFound("there is no label to edit: submit one first")
    _check_not_settled(user, previous)
    if previous.version != version:
        raise Conflict(
            f"this label changed meanwhile: you edited version {version}, "
            f"the current one is version {previous.version}; reload it and edit again"
        )
    label = write_version(instance, reader, user, content, previous)
    review_queue.open_items_for(label)
    record("label.edited", actor=user, target=label, slice_id=instance.pk, **_summary(label))
    _after_commit()
    return label


def withdraw(user: AbstractBaseUser, label_id: int) -> Label:
    """Undo: a new version marked withdrawn; the slice goes back to the queue."""
    with transaction.atomic():
        label = Label.objects.filter(pk=label_id).first()
        if label is None:
            raise NotFound("no such label")
        _instance(label.instance_id)
        if label.reader_id != user.pk and not is_admin(user):
            raise Forbidden("only the reader or an admin can withdraw this label")
        previous = latest(label.instance_id, label.reader_id)
        if previous.withdrawn:
            return previous
        _check_not_settled(user, previous)
        withdrawn = Label.objects.create(
            instance_id=previous.instance_id,
            reader_id=previous.reader_id,
            author=user,
            version=previous.version + 1,
            findings=previous.findings,
            cant_tell=previous.cant_tell,
            boxes=previous.boxes,
            comment=previous.comment,
            source=previous.source,
            withdrawn=True,
        )
        items.unmark_read(previous.instance_id, previous.reader)
        review_queue.open_items_for(withdrawn)
        record(
            "label.withdrawn",
            actor=user,
            target=withdrawn,
            slice_id=withdrawn.instance_id,
            version=withdrawn.version,
        )
    return withdrawn


def _check_not_settled(user: AbstractBaseUser, label: Label) -> None:
    """A label a reviewer approved or corrected stands: only an admin changes it now (which
    opens a new review), so an annotator cannot quietly undo a review."""
    if not is_admin(user) and review_queue.settled(label):
        raise Conflict("this label was reviewed; ask a reviewer to change it")


def write_version(
    instance: Instance,
    reader: AbstractBaseUser,
    author: AbstractBaseUser,
    content: LabelContent,
    previous: Label | None,
    source: str = Label.Source.READER,
) -> Label:
    """The next version of `reader`'s label for the slice; the slice counts as read by them.
    Call inside a transaction that holds the slice's queue item (see `_instance`)."""
    label = Label.objects.create(
        instance=instance,
        reader=reader,
        author=author,
        version=(previous.version if previous else 0) + 1,
        findings=content.findings,
        cant_tell=content.cant_tell or "",
        boxes=content.boxes,
        comment=content.comment,
        source=source,
    )
    items.mark_read(instance.pk, reader)
    return label


def _summary(label: Label) -> dict:
    return {
        "instance": label.instance_id,
        "version": label.version,
        "findings": label.findings,
        "cant_tell": label.cant_tell,
        "boxes": len(label.boxes),
    }


def _after_commit() -> None:
    from annotator.learning import policy

    transaction.on_commit(policy.labels_changed)
