"""What the model learns from: the current label of each slice, and its pixels as inputs.

Until the multi-label model arrives, a label trains as one class: its first finding in
vocabulary order that is not "unremarkable" (a label holds either unremarkable alone or
lesion findings). "Can't tell" and withdrawn labels never train.
"""

import numpy as np

from annotator.imaging import pixels, storage
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.vocab import FINDINGS, Finding
from ml.preprocess import to_model_input


def primary_finding(findings: list[str]) -> str:
    lesions = [f for f in FINDINGS if f in findings and f != Finding.UNREMARKABLE]
    return lesions[0] if lesions else Finding.UNREMARKABLE


def current_labels(split: str) -> dict[int, Label]:
    """Per slice of the split's dogs: the newest label version that still stands.

    Each reader's chain counts by its newest version (a withdrawal removes the chain);
    among readers, the most recently written label wins.
    """
    newest_per_chain: dict[tuple[int, int], Label] = {}
    rows = Label.objects.filter(instance__series__study__dog__split=split).order_by("version")
    for label in rows.only(
        "id", "instance_id", "reader_id", "version", "findings", "cant_tell", "withdrawn"
    ):
        newest_per_chain[(label.instance_id, label.reader_id)] = label
    current: dict[int, Label] = {}
    for label in newest_per_chain.values():
        if label.withdrawn:
            continue
        held = current.get(label.instance_id)
        if held is None or label.id > held.id:
            current[label.instance_id] = label
    return current


def labeled(split: str) -> tuple[list[Instance], np.ndarray]:
    """The split's labeled slices (by id) and their class indices in FINDINGS order."""
    current = {pk: lab for pk, lab in current_labels(split).items() if not lab.cant_tell}
    instances = list(Instance.objects.filter(pk__in=current).order_by("id"))
    classes = np.array(
        [FINDINGS.index(primary_finding(current[i.pk].findings)) for i in instances],
        dtype=np.int64,
    )
    return instances, classes


LESIONS: list[str] = [f for f in FINDINGS if f != Finding.UNREMARKABLE]


def labeled_findings(split: str) -> tuple[list[Instance], np.ndarray]:
    """The split's labeled slices (by id, with series and dog) and their findings as an
    (N, lesions) boolean array; an all-False row is an unremarkable slice."""
    current = {pk: lab for pk, lab in current_labels(split).items() if not lab.cant_tell}
    instances = list(
        Instance.objects.filter(pk__in=current).select_related("series__study").order_by("id")
    )
    truth = np.array(
        [[lesion in current[i.pk].findings for lesion in LESIONS] for i in instances],
        dtype=bool,
    ).reshape(len(instances), len(LESIONS))
    return instances, truth


def model_input(instance: Instance, size: int) -> np.ndarray:
    image = pixels.read_image(storage.read(instance.file_key))
    return to_model_input(image, size=size)


def model_inputs(instances: list[Instance], size: int) -> np.ndarray:
    """(N, 1, size, size) float32 for the given slices, in order."""
    if not instances:
        return np.zeros((0, 1, size, size), dtype=np.float32)
    return np.stack([model_input(i, size)[None] for i in instances]).astype(np.float32)
