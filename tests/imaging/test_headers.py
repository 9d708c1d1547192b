"""A series knows its plane and weighting from its headers, not from its name."""

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from annotator.imaging.headers import derive_plane, derive_sequence

SAGITTAL = [0, 1, 0, 0, 0, -1]
TRANSVERSE = [1, 0, 0, 0, 1, 0]
DORSAL = [1, 0, 0, 0, 0, -1]
# A transverse slice angled 15 degrees to follow a disc space.
ANGLED_TRANSVERSE = [1, 0, 0, 0, 0.9659, -0.2588]


def header(**tags) -> Dataset:
    ds = Dataset()
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize(
    ("orientation", "description", "plane"),
    [
        (SAGITTAL, "", "sagittal"),
        (TRANSVERSE, "", "transverse"),
        (DORSAL, "", "dorsal"),
        (ANGLED_TRANSVERSE, "", "transverse"),
        # Signs flipped by the dog's positioning: the dominant axis still decides.
        ([0, -1, 0, 0, 0, 1], "", "sagittal"),
        # The name says sagittal, the geometry says transverse: geometry wins.
        (TRANSVERSE, "t2_tse_sag", "transverse"),
        (None, "SAG T2 FRFSE", "sagittal"),
        (None, "Ax T1", "transverse"),
        (None, "T1W_SE_TRA", "transverse"),
        (None, "DOR STIR", "dorsal"),
        (None, "localizer", "unknown"),
    ],
)
def test_plane_comes_from_orientation_then_name(orientation, description, plane):
    tags = {"SeriesDescription": description}
    if orientation is not None:
        tags["ImageOrientationPatient"] = orientation
    assert derive_plane(header(**tags)) == plane


@pytest.mark.parametrize(
    ("tags", "sequence"),
    [
        ({"RepetitionTime": 550, "EchoTime": 12, "ScanningSequence": "SE"}, "T1W"),
        ({"RepetitionTime": 3200, "EchoTime": 96, "ScanningSequence": "SE"}, "T2W"),
        # The name lies; TR/TE decide.
        ({"RepetitionTime": 3200, "EchoTime": 96, "SeriesDescription": "t1_se_sag"}, "T2W"),
        (
            {
                "RepetitionTime": 4000,
                "EchoTime": 40,
                "InversionTime": 150,
                "ScanningSequence": "IR",
            },
            "STIR",
        ),
        (
            {
                "RepetitionTime": 9000,
                "EchoTime": 110,
                "InversionTime": 2500,
                "ScanningSequence": "IR",
            },
            "other",
        ),
        ({"RepetitionTime": 20, "EchoTime": 5, "ScanningSequence": "GR"}, "other"),
        # Ambiguous physics (intermediate TR/TE): the name is the fallback.
        ({"RepetitionTime": 1200, "EchoTime": 40, "SeriesDescription": "SAG T2 FRFSE"}, "T2W"),
        ({"SeriesDescription": "Ax T1"}, "T1W"),
        ({"SeriesDescription": "survey"}, "other"),
    ],
)
def test_weighting_comes_from_tr_te_then_name(tags, sequence):
    assert derive_sequence(header(**tags)) == sequence


def test_bundled_mr_file_is_a_transverse_t2w_slice():
    ds = dcmread(get_testdata_file("MR_small.dcm", download=False))
    # TR 4000 ms, TE 240 ms; orientation rows along x, columns along y.
    assert derive_sequence(ds) == "T2W"
    assert derive_plane(ds) == "transverse"
