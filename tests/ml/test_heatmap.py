"""The heatmap shows where a finding drove the classifier, on the slice's own pixels."""

import numpy as np
import torch

from ml.heatmap import slice_heatmap, tile_cams
from ml.lesion_model import LesionModel
from ml.localiser import Localiser, LocaliserConfig
from ml.mc import mc_slices
from ml.multilabel import ClassifierConfig, LesionNet


def small_model() -> LesionModel:
    """An untrained two-finding model: the maps' arithmetic does not depend on training."""
    torch.manual_seed(0)
    net = LesionNet(ClassifierConfig(n_lesions=2, in_size=32, width=4, planes=2, sequences=2))
    net.eval()
    return LesionModel(
        classifier=net,
        localiser=Localiser(LocaliserConfig(in_size=32, width=4)).eval(),
        lesions=["ivde", "ivdp"],
        planes=["sagittal", "transverse"],
        sequences=["T1W", "T2W"],
        thresholds=np.array([0.5, 0.5]),
        crop_size=32,
        stride=24,
    )


def test_the_map_is_the_head_weights_applied_to_the_last_maps():
    model = small_model()
    tiles = np.random.default_rng(1).random((3, 32, 32)).astype(np.float32)
    cams = tile_cams(model, tiles, finding=1)
    net = model.classifier
    with torch.no_grad():
        maps = net.feature_maps(torch.from_numpy(tiles[:, None]))
        expected = torch.relu(
            torch.einsum("c,tchw->thw", net.head_fc.weight[1, : net.n_features], maps)
        )
    assert cams.shape == (3, 4, 4)
    np.testing.assert_allclose(cams, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_the_slice_map_is_scaled_to_one_and_empty_away_from_the_canal():
    model = small_model()
    image = np.random.default_rng(2).normal(100, 10, (96, 160)).astype(np.float32)
    heat = slice_heatmap(model, image, finding=0)
    assert heat.shape == image.shape
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert heat.max() in (0.0, 1.0)
    # tiles cover a band around the canal the localiser finds, not the whole slice
    assert (heat == 0).mean() > 0.3


def test_the_scoring_pass_draws_the_same_map_as_the_viewer_path():
    model = small_model()
    image = np.random.default_rng(3).normal(100, 10, (96, 160)).astype(np.float32)
    scored = mc_slices(model, [image], ["sagittal"], ["T2W"], passes=2, seed=0)
    for finding in (0, 1):
        np.testing.assert_allclose(
            scored.heatmap(0, finding, image.shape),
            slice_heatmap(model, image, finding),
            atol=1e-5,
        )
