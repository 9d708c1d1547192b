import numpy as np
import pytest
import torch

from ml.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from ml.score import predict_proba


def test_round_trip_gives_identical_predictions(tmp_path, trained, shapes_split, shape_names):
    _, _, x_test, _ = shapes_split
    path = tmp_path / "models" / "v3.pt"
    extra = {"val_accuracy": 0.9, "labels_seen": [1, 2], "note": None}
    save_checkpoint(path, trained.model, trained.model.config, shape_names, trained.steps, extra)

    model, net, names, loaded_extra = load_checkpoint(path)
    assert net == trained.model.config
    assert names == shape_names
    assert loaded_extra == extra
    assert not model.training
    np.testing.assert_array_equal(
        predict_proba(model, x_test), predict_proba(trained.model, x_test)
    )
    assert read_checkpoint(path)["step"] == trained.steps
    # readable by the restricted unpickler, so loading never runs code from disk
    torch.load(path, weights_only=True)
    assert [p.name for p in path.parent.iterdir()] == ["v3.pt"]  # no temp file left


def test_overwrite_replaces_the_file(tmp_path, trained, shape_names):
    path = tmp_path / "latest.pt"
    cfg = trained.model.config
    save_checkpoint(path, trained.model, cfg, shape_names, step=1, extra={})
    save_checkpoint(path, trained.model, cfg, shape_names, step=2, extra={})
    assert read_checkpoint(path)["step"] == 2


def test_refuses_extra_that_weights_only_loading_would_reject(tmp_path, trained, shape_names):
    path = tmp_path / "bad.pt"
    with pytest.raises(TypeError):
        extra = {"accuracy": np.float64(0.9)}
        save_checkpoint(path, trained.model, trained.model.config, shape_names, 1, extra)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_refuses_mismatched_class_names(tmp_path, trained):
    with pytest.raises(ValueError):
        save_checkpoint(tmp_path / "x.pt", trained.model, trained.model.config, ["a"], 1, {})
