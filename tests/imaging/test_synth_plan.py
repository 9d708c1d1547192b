"""The synthetic cohort's plan carries no shortcut a model could learn instead of lesions.

These tests read planned dogs (no pixels drawn) except where a slice's truth is needed.
"""

from collections import Counter

import numpy as np

from annotator.synth.anatomy import Tissue
from annotator.synth.cohort import plan_cohort
from annotator.synth.findings import FINDINGS, UNREMARKABLE
from annotator.synth.phantom import label_slice, tissue_labels


def stratified_auroc(values: list[float], positive: list[bool], strata: list[str]) -> float:
    """AUROC counting only pairs from the same stratum (here: the same breed)."""
    wins = pairs = 0.0
    for stratum in set(strata):
        idx = [i for i, s in enumerate(strata) if s == stratum]
        pos = np.array([values[i] for i in idx if positive[i]])
        neg = np.array([values[i] for i in idx if not positive[i]])
        if pos.size and neg.size:
            wins += (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
            pairs += pos.size * neg.size
    return wins / pairs if pairs else 0.5


def test_stratified_auroc_sees_a_shortcut_when_there_is_one():
    breeds = ["Beagle", "Boxer"] * 50
    sick = [i % 4 == 0 for i in range(100)]
    assert stratified_auroc([float(s) + 0.01 * i for i, s in enumerate(sick)], sick, breeds) > 0.9


def test_within_a_breed_spine_size_and_pixel_spacing_carry_no_diagnosis():
    studies = plan_cohort(2000, 21)
    breeds = [s.patient.breed.name for s in studies]
    features = {
        "vertebral body height (mm)": [2 * s.spine.body_radii[1] for s in studies],
        "sagittal pixel spacing": [s.series[0].slices[0].spacing_mm for s in studies],
        "transverse pixel spacing": [s.series[2].slices[0].spacing_mm for s in studies],
    }
    # A radiographer fits the field to the dog, so even across breeds the canal covers
    # about as many pixels in every class.
    canal_px = [2 * s.spine.canal_radii[1] / s.series[2].slices[0].spacing_mm for s in studies]
    everyone = ["all"] * len(studies)
    for finding in FINDINGS:
        has = [finding in s.findings for s in studies]
        for name, values in features.items():
            auroc = stratified_auroc(values, has, breeds)
            assert 0.4 <= auroc <= 0.6, (finding, name, auroc)
        auroc = stratified_auroc(canal_px, has, everyone)
        assert 0.4 <= auroc <= 0.6, (finding, "canal height in pixels", auroc)


def test_classes_are_imbalanced_as_in_practice_and_dogs_can_have_several_findings():
    studies = plan_cohort(400, 3)
    share = Counter(s.finding for s in studies)
    assert share["ivde"] > share["unremarkable"] > share["neoplasia"] > 0
    assert share["ivde"] > 4 * share["syringomyelia"] > 0
    assert any(len(s.findings) > 1 for s in studies)


def test_degenerated_discs_occur_in_dogs_of_every_class():
    studies = plan_cohort(120, 4)
    for finding in FINDINGS:
        incidental = [
            set(s.spine.degenerated) - {d for lesion in s.lesions for d in lesion.discs}
            for s in studies
            if s.finding == finding
        ]
        assert any(incidental), finding
    # Drawn, an unremarkable dog's aged disc is dark but the slice stays unremarkable.
    dog = next(s for s in studies if s.finding == UNREMARKABLE and s.spine.degenerated)
    sagittal = dog.series[0]
    middle = sagittal.slices[len(sagittal.slices) // 2]
    seen = [tissue_labels(dog.spine, (), g) for g in sagittal.slices]
    assert any((labels == Tissue.DEGENERATED_NUCLEUS).any() for labels in seen)
    plane = label_slice(dog.spine, dog.lesions, middle, sagittal.acquisition.blur_px)
    assert all(truth.findings == () for truth in plane.truth.values())


def test_several_findings_share_a_slice_somewhere_in_forty_dogs():
    studies = [s for s in plan_cohort(40, 0) if len(s.findings) > 1]
    shared = []
    for study in studies:
        sagittal = study.series[0]
        for geometry in sagittal.slices:
            plane = label_slice(study.spine, study.lesions, geometry, sagittal.acquisition.blur_px)
            shared += [t.findings for t in plane.truth.values() if len(t.findings) > 1]
    assert shared
    assert all(list(f) == [x for x in FINDINGS if x in f] for f in shared)
