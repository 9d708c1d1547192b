import numpy as np
import pytest
import torch

from ml.evaluate import evaluate
from ml.model import NetConfig
from ml.score import predict_proba
from ml.train import TrainConfig, class_weights, make_batches, train


def test_training_lowers_the_loss_and_beats_chance(trained, shapes_split, shape_names):
    _, _, x_test, y_test = shapes_split
    losses = [h["loss"] for h in trained.history]
    assert len(losses) == 8
    assert losses[-1] < 0.5 * losses[0]
    metrics = evaluate(trained.model, x_test, y_test, shape_names)
    assert metrics["accuracy"] > 0.8  # chance is 1/3


def test_same_seed_same_weights_other_seed_other_weights(make_shapes):
    x, y = make_shapes(24, seed=3)
    net, cfg = NetConfig(n_classes=3, width=4), TrainConfig(epochs=2, batch_size=8, seed=7)
    a, b = train(x, y, net, cfg), train(x, y, net, cfg)
    c = train(x, y, net, TrainConfig(epochs=2, batch_size=8, seed=8))
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    np.testing.assert_array_equal(predict_proba(a.model, x), predict_proba(b.model, x))
    assert not torch.equal(a.model.head.weight, c.model.head.weight)


def test_tiny_set_with_absent_classes(make_shapes):
    x, y = make_shapes(5, seed=4)
    y = np.array([0, 0, 1, 1, 1])  # classes 2..5 never labelled
    result = train(x, y, NetConfig(n_classes=6, width=4), TrainConfig(epochs=3, batch_size=16))
    assert result.steps == 3  # one batch of 5 per epoch
    assert all(np.isfinite(h["loss"]) for h in result.history)
    assert not result.stopped_early
    assert not result.model.training


def test_class_weights_ignore_absent_classes():
    weights = class_weights(np.array([0, 0, 0, 1]), n_classes=3)
    np.testing.assert_allclose(weights, [4 / 6, 4 / 2, 0.0])
    assert np.isfinite(weights).all()


def test_batches_cover_every_sample_once_without_a_lonely_last_one():
    batches = make_batches(17, 16, np.random.default_rng(0))
    assert sorted(len(b) for b in batches) == [8, 9]
    assert sorted(np.concatenate(batches).tolist()) == list(range(17))


def test_time_budget_stops_early_after_one_step(make_shapes):
    x, y = make_shapes(32, seed=5)
    seen = []
    cfg = TrainConfig(epochs=5, batch_size=8, max_seconds=0.0)
    result = train(x, y, NetConfig(n_classes=3, width=4), cfg, progress=seen.append)
    assert result.stopped_early
    assert result.steps == 1
    assert len(result.history) == 1 and result.history[0]["partial"] is True
    assert len(seen) == 1 and seen[0]["steps"] == 1 and seen[0]["epochs"] == 5


def test_progress_called_once_per_epoch(make_shapes):
    x, y = make_shapes(12, seed=6)
    seen = []
    train(x, y, NetConfig(n_classes=3, width=4), TrainConfig(epochs=3), progress=seen.append)
    assert [p["epoch"] for p in seen] == [1, 2, 3]
    assert {"epoch", "epochs", "loss", "seconds", "steps"} <= set(seen[-1])


@pytest.mark.parametrize("bad_labels", [[0, 1, 3], [0, -1, 1], [0, 1]])
def test_rejects_bad_labels(bad_labels, make_shapes):
    x, _ = make_shapes(3, seed=0)
    with pytest.raises(ValueError):
        train(x, np.array(bad_labels), NetConfig(n_classes=3, width=4), TrainConfig(epochs=1))
