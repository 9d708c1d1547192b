import pytest
import torch

from ml.model import NetConfig, SliceNet


def test_default_net_is_small():
    model = SliceNet(NetConfig())
    assert 50_000 < model.n_params() < 400_000


def test_shapes():
    model = SliceNet(NetConfig(n_classes=5, width=8)).eval()
    x = torch.randn(3, 1, 64, 48)
    logits, fmap = model.forward_with_features(x)
    assert logits.shape == (3, 5)
    assert fmap.shape == (3, 64, 8, 6)  # 8 * width channels at 1/8 resolution
    torch.testing.assert_close(model(x), logits)


def test_head_reads_the_average_of_the_feature_maps():
    # what makes the class-activation map exact: logits are linear in the mean feature map
    model = SliceNet(NetConfig(n_classes=4, width=8)).eval()
    logits, fmap = model.forward_with_features(torch.randn(2, 1, 32, 32))
    torch.testing.assert_close(logits, model.head(fmap.mean(dim=(2, 3))))


@pytest.mark.parametrize("bad", [{"n_classes": 0}, {"dropout": 1.0}, {"width": 0}])
def test_config_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        NetConfig(**bad)
