import numpy as np
import pytest
import torch

from ml.lesion_model import LesionModel, load_lesion_model, save_lesion_model
from ml.localiser import Localiser, LocaliserConfig
from ml.multilabel import ClassifierConfig, LesionNet
from tests.ml.lesion_data import canal_slices


@pytest.fixture
def lesion_model() -> LesionModel:
    torch.manual_seed(0)
    return LesionModel(
        classifier=LesionNet(
            ClassifierConfig(n_lesions=2, in_size=32, width=4, planes=2, sequences=2)
        ).eval(),
        localiser=Localiser(LocaliserConfig(in_size=32, width=4)).eval(),
        lesions=["IVDE", "syringomyelia"],
        planes=["sagittal", "transverse"],
        sequences=["T1W", "T2W"],
        thresholds=np.array([0.3, 0.6]),
        crop_size=32,
        stride=24,
        step=120,
        extra={"val_macro_auroc": 0.91, "note": None},
    )


def test_round_trip_gives_identical_predictions(tmp_path, lesion_model):
    images, _ = canal_slices(4, seed=5)
    planes, sequences = ["sagittal", "transverse"] * 2, ["T2W", "T2W", "T1W", "T1W"]
    path = tmp_path / "models" / "lesions-v1.pt"
    save_lesion_model(path, lesion_model)

    loaded = load_lesion_model(path)
    probs, boxes = loaded.predict_slices(images, planes, sequences)
    want_probs, want_boxes = lesion_model.predict_slices(images, planes, sequences)
    assert probs.shape == (4, 2) and boxes.shape == (4, 4)
    np.testing.assert_array_equal(probs, want_probs)
    np.testing.assert_array_equal(boxes, want_boxes)
    assert loaded.classifier.config == lesion_model.classifier.config
    assert loaded.localiser.config == lesion_model.localiser.config
    assert (loaded.lesions, loaded.planes, loaded.sequences) == (
        lesion_model.lesions,
        lesion_model.planes,
        lesion_model.sequences,
    )
    np.testing.assert_array_equal(loaded.thresholds, [0.3, 0.6])
    assert (loaded.crop_size, loaded.stride, loaded.step) == (32, 24, 120)
    assert loaded.extra == lesion_model.extra
    assert not loaded.classifier.training and not loaded.localiser.training
    # plain values only: the restricted unpickler reads it, so loading never runs code
    raw = torch.load(path, weights_only=True)
    assert raw["preprocess"] == {"crop_size": 32, "stride": 24, "localiser_size": 32}
    assert [p.name for p in path.parent.iterdir()] == ["lesions-v1.pt"]  # no temp file left


def test_refuses_extra_that_weights_only_loading_would_reject(tmp_path, lesion_model):
    lesion_model.extra = {"auroc": np.float64(0.9)}
    with pytest.raises(TypeError):
        save_lesion_model(tmp_path / "bad.pt", lesion_model)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_slicenet_checkpoint(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": 1}, path)
    with pytest.raises(ValueError, match="format"):
        load_lesion_model(path)


def test_refuses_names_that_do_not_match_the_classifier(lesion_model):
    with pytest.raises(ValueError):
        LesionModel(**{**vars(lesion_model), "lesions": ["IVDE"]})
    with pytest.raises(ValueError):
        LesionModel(**{**vars(lesion_model), "crop_size": 64})
