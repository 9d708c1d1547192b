"""What the model learns from: the label of each slice as it stands now.

"Can't tell" and withdrawn labels never train (a reviewer's reject is a withdrawn version,
so rejected labels drop out too). The model has one output per lesion finding;
"unremarkable" is a slice with none of them.
"""

from django.conf import settings

from annotator.labeling.models import Label
from annotator.review import status
from annotator.vocab import FINDINGS, Finding, Split

LESIONS: list[str] = [f for f in FINDINGS if f != Finding.UNREMARKABLE]


def current_labels(split: str) -> dict[int, Label]:
    """Per slice of the split's dogs: the newest label version that still stands.

    Each reader's chain counts by its newest version (a withdrawal removes the chain);
    among readers, the most recently written label wins.

    With DACHS_TRAIN_ON=accepted, the training split keeps only chains whose newest version
    is accepted (approved, corrected or imported; see review/status.py). Validation and
    test labels keep the "submitted" rule: evaluation needs every split's labels from the
    first day, before reviewers have caught up, and a model is compared with the served one
    on the same labels either way. A clinic that wants reviewed evaluation labels reviews
    those slices first. Two queries whatever the number of labels.
    """
    labels = Label.objects.filter(instance__series__study__dog__split=split)
    newest_per_chain: dict[tuple[int, int], Label] = {}
    fields = ("id", "instance_id", "reader_id", "version", "findings", "boxes", "cant_tell")
    for label in labels.order_by("version").only(*fields, "withdrawn"):
        newest_per_chain[(label.instance_id, label.reader_id)] = label
    standing = [label for label in newest_per_chain.values() if not label.withdrawn]
    if split == Split.TRAIN and settings.TRAIN_ON == "accepted":
        accepted = status.accepted_label_ids(labels.values("id"))
        standing = [label for label in standing if label.id in accepted]
    current: dict[int, Label] = {}
    for label in standing:
        held = current.get(label.instance_id)
        if held is None or label.id > held.id:
            current[label.instance_id] = label
    return current
