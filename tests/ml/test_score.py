import numpy as np

from ml.model import NetConfig, SliceNet
from ml.score import predict_proba, predict_proba_mc


def test_probabilities_shape_and_sum(trained, shapes_split):
    _, _, x_test, _ = shapes_split
    probs = predict_proba(trained.model, x_test, batch_size=16)
    assert probs.shape == (60, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs >= 0).all()


def test_batch_size_does_not_change_the_answer(trained, shapes_split):
    # eval mode: batch norm uses running statistics, so each slice is scored on its own
    _, _, x_test, _ = shapes_split
    np.testing.assert_allclose(
        predict_proba(trained.model, x_test, batch_size=7),
        predict_proba(trained.model, x_test, batch_size=64),
        atol=1e-5,
    )


def test_scoring_switches_to_eval_mode():
    model = SliceNet(NetConfig(n_classes=3, width=4, dropout=0.5))
    model.train()
    x = np.random.default_rng(0).random((4, 1, 32, 32), dtype=np.float32)
    first = predict_proba(model, x)
    assert not model.training
    np.testing.assert_array_equal(first, predict_proba(model, x))  # no dropout noise


def test_empty_batch():
    model = SliceNet(NetConfig(n_classes=3, width=4))
    assert predict_proba(model, np.zeros((0, 1, 32, 32), np.float32)).shape == (0, 3)
    assert predict_proba_mc(model, np.zeros((0, 1, 32, 32), np.float32)).shape == (0, 3)


def test_mc_dropout_is_seeded_and_averages_over_masks(trained, shapes_split):
    _, _, x_test, _ = shapes_split
    a = predict_proba_mc(trained.model, x_test, passes=10, seed=1)
    b = predict_proba_mc(trained.model, x_test, passes=10, seed=1)
    c = predict_proba_mc(trained.model, x_test, passes=10, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (60, 3)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-5)
    assert not trained.model.training


def test_mc_dropout_without_dropout_equals_plain_scoring():
    model = SliceNet(NetConfig(n_classes=3, width=4, dropout=0.0)).eval()
    x = np.random.default_rng(0).random((5, 1, 32, 32), dtype=np.float32)
    np.testing.assert_allclose(predict_proba_mc(model, x, passes=3), predict_proba(model, x))
