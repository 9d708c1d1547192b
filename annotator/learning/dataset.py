"""What the model learns from: the label of each slice as it stands now.

"Can't tell" and withdrawn labels never train. The model has one output per lesion
finding; "unremarkable" is a slice with none of them.
"""

from annotator.labeling.models import Label
from annotator.vocab import FINDINGS, Finding

LESIONS: list[str] = [f for f in FINDINGS if f != Finding.UNREMARKABLE]


def current_labels(split: str) -> dict[int, Label]:
    """Per slice of the split's dogs: the newest label version that still stands.

    Each reader's chain counts by its newest version (a withdrawal removes the chain);
    among readers, the most recently written label wins.
    """
    newest_per_chain: dict[tuple[int, int], Label] = {}
    rows = Label.objects.filter(instance__series__study__dog__split=split).order_by("version")
    fields = ("id", "instance_id", "reader_id", "version", "findings", "boxes", "cant_tell")
    for label in rows.only(*fields, "withdrawn"):
        newest_per_chain[(label.instance_id, label.reader_id)] = label
    current: dict[int, Label] = {}
    for label in newest_per_chain.values():
        if label.withdrawn:
            continue
        held = current.get(label.instance_id)
        if held is None or label.id > held.id:
            current[label.instance_id] = label
    return current
