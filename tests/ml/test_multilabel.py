import numpy as np
import pytest
import torch

from ml.multilabel import ClassifierConfig, LesionNet, predict


@pytest.fixture
def net() -> LesionNet:
    torch.manual_seed(0)
    model = LesionNet(ClassifierConfig(n_lesions=3, in_size=32, width=8, planes=3, sequences=4))
    return model.eval()


def test_default_size_is_about_300k_parameters():
    assert 250_000 < LesionNet(ClassifierConfig()).n_params() < 350_000


def test_shapes(net):
    x = torch.randn(5, 1, 32, 32)
    plane, sequence = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([0, 1, 2, 3, 0])
    assert net(x, plane, sequence).shape == (5, 3)
    feats = net.features(x)
    assert feats.shape == (5, net.n_features) == (5, 64)
    # eval mode: dropout is off, so forward is exactly head(features)
    torch.testing.assert_close(net.head(feats, plane, sequence), net(x, plane, sequence))


def test_first_stage_runs_at_full_resolution(net):
    x = torch.randn(2, 1, 32, 32)
    assert net.stages[0](net.stem(x)).shape == (2, 8, 32, 32)


def test_plane_and_sequence_change_the_output(net):
    x = torch.randn(1, 1, 32, 32).repeat(2, 1, 1, 1)  # the same crop twice
    same = torch.tensor([1, 1])
    by_plane = net(x, torch.tensor([0, 2]), same)
    by_sequence = net(x, same, torch.tensor([0, 3]))
    assert not torch.allclose(by_plane[0], by_plane[1])
    assert not torch.allclose(by_sequence[0], by_sequence[1])


def test_predict_gives_independent_sigmoids_in_batches(net):
    rng = np.random.default_rng(0)
    crops = rng.random((7, 32, 32), dtype=np.float32)
    planes, sequences = rng.integers(0, 3, 7), rng.integers(0, 4, 7)
    probs = predict(net, crops, planes, sequences, batch_size=3)
    assert probs.shape == (7, 3) and probs.dtype == np.float32
    assert ((probs > 0) & (probs < 1)).all()
    # multi-label: rows need not sum to 1, and batching does not change the answer
    np.testing.assert_allclose(predict(net, crops[:, None], planes, sequences), probs, atol=1e-6)
    assert predict(net, crops[:0], planes[:0], sequences[:0]).shape == (0, 3)


def test_predict_refuses_mismatched_lengths(net):
    with pytest.raises(ValueError):
        predict(net, np.zeros((2, 32, 32)), np.zeros(3, dtype=int), np.zeros(2, dtype=int))


@pytest.mark.parametrize("bad", [{"n_lesions": 0}, {"planes": 0}, {"dropout": 1.0}])
def test_config_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        ClassifierConfig(**bad)
