"""MC dropout: the trunk runs once, the head once per pass, batch norm stays in eval."""

import numpy as np
import pytest
import torch

from ml.lesion_model import LesionModel
from ml.localiser import Localiser, LocaliserConfig, locate
from ml.mc import mc_slices, mc_tile_probs
from ml.multilabel import ClassifierConfig, LesionNet, predict
from ml.tiles import slice_tiles
from tests.ml.lesion_data import canal_slices


def small_net(dropout: float = 0.3) -> LesionNet:
    torch.manual_seed(0)
    net = LesionNet(
        ClassifierConfig(n_lesions=3, in_size=16, width=4, planes=2, sequences=2, dropout=dropout)
    )
    # batch-norm statistics far from (0, 1), so a pass that used batch statistics would differ
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.train()  # left training on purpose: MC dropout must not use batch statistics


def tile_inputs(n: int = 7):
    rng = np.random.default_rng(0)
    return (
        rng.random((n, 1, 16, 16), dtype=np.float32),
        rng.integers(0, 2, n),
        rng.integers(0, 2, n),
    )


@torch.no_grad()
def naive_mc(net: LesionNet, crops, planes, sequences, passes: int, seed: int) -> np.ndarray:
    """Each pass runs the whole net on every crop, batch norm in eval and dropout on, with
    the masks drawn from the seeded generator in the same order as ml.mc."""
    net.eval()
    x = torch.from_numpy(crops)
    p, s = torch.as_tensor(planes), torch.as_tensor(sequences)
    keep = 1.0 - net.config.dropout
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(passes):
        feats = net.features(x)  # the trunk again, every pass
        mask = torch.empty_like(feats).bernoulli_(keep, generator=generator)
        out.append(torch.sigmoid(net.head(feats * mask / keep, p, s)))
    return torch.stack(out).numpy()


def test_cached_trunk_gives_the_passes_of_the_full_net():
    torch.set_num_threads(1)
    net = small_net()
    crops, planes, sequences = tile_inputs()
    mc = mc_tile_probs(net, crops, planes, sequences, passes=4, seed=3, batch_size=3)
    assert mc.samples.shape == (4, 7, 3) and mc.features.shape == (7, net.n_features)
    want = naive_mc(net, crops, planes, sequences, passes=4, seed=3)
    np.testing.assert_allclose(mc.samples, want, rtol=0, atol=1e-6)
    assert not np.allclose(mc.samples[0], mc.samples[1])  # the passes do differ
    # the probabilities are predict's, bit for bit: the call and its uncertainty agree
    np.testing.assert_array_equal(mc.probs, predict(net, crops, planes, sequences, batch_size=3))
    assert not net.training


def test_passes_are_reproducible_by_seed_and_do_not_depend_on_batching():
    torch.set_num_threads(1)
    net = small_net()
    crops, planes, sequences = tile_inputs()
    a = mc_tile_probs(net, crops, planes, sequences, passes=3, seed=1, batch_size=2)
    b = mc_tile_probs(net, crops, planes, sequences, passes=3, seed=1, batch_size=128)
    c = mc_tile_probs(net, crops, planes, sequences, passes=3, seed=2)
    np.testing.assert_allclose(a.samples, b.samples, atol=1e-6)
    assert not np.allclose(a.samples, c.samples)


def test_without_dropout_every_pass_is_the_deterministic_forward():
    torch.set_num_threads(1)
    net = small_net(dropout=0.0)
    crops, planes, sequences = tile_inputs()
    mc = mc_tile_probs(net, crops, planes, sequences, passes=2, seed=0)
    np.testing.assert_allclose(mc.samples, np.stack([mc.probs, mc.probs]), atol=1e-6)


def test_no_crops_and_bad_arguments():
    net = small_net()
    crops, planes, sequences = tile_inputs()
    empty = mc_tile_probs(net, crops[:0], planes[:0], sequences[:0], passes=2, seed=0)
    assert (empty.probs.shape, empty.samples.shape) == ((0, 3), (2, 0, 3))
    assert empty.features.shape == (0, net.n_features)
    with pytest.raises(ValueError):
        mc_tile_probs(net, crops, planes, sequences, passes=0, seed=0)
    with pytest.raises(ValueError):
        mc_tile_probs(net, crops, planes[:3], sequences, passes=2, seed=0)


def test_a_slice_takes_its_most_suspicious_tile_in_every_pass():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = LesionModel(
        classifier=LesionNet(
            ClassifierConfig(n_lesions=2, in_size=32, width=4, planes=2, sequences=2)
        ).eval(),
        localiser=Localiser(LocaliserConfig(in_size=32, width=4)).eval(),
        lesions=["IVDE", "syringomyelia"],
        planes=["sagittal", "transverse"],
        sequences=["T1W", "T2W"],
        thresholds=np.array([0.3, 0.6]),
        crop_size=32,
        stride=12,
    )
    images, _ = canal_slices(3, seed=5)
    planes, sequences = ["sagittal", "transverse", "sagittal"], ["T2W", "T1W", "T1W"]
    mc = mc_slices(model, images, planes, sequences, passes=3, seed=7)

    probs, boxes = model.predict_slices(images, planes, sequences)
    np.testing.assert_array_equal(mc.probs, probs)
    np.testing.assert_array_equal(mc.boxes, boxes)
    assert mc.samples.shape == (3, 3, 2) and mc.embeddings.shape == (3, 32)

    # the same tiles scored on their own: each slice is the max (mean for features) of its own
    boxes = locate(model.localiser, images)
    tiles = [slice_tiles(im, b, 32, 12)[0] for im, b in zip(images, boxes, strict=True)]
    counts = [len(t) for t in tiles]
    assert max(counts) > 1  # a slice with several tiles, so the max is over something
    plane_idx = np.repeat([model.planes.index(p) for p in planes], counts)
    seq_idx = np.repeat([model.sequences.index(s) for s in sequences], counts)
    tile = mc_tile_probs(
        model.classifier, np.concatenate(tiles), plane_idx, seq_idx, passes=3, seed=7
    )
    ends = np.cumsum(counts)
    for i, (start, end) in enumerate(zip(ends - counts, ends, strict=True)):
        np.testing.assert_array_equal(mc.samples[:, i], tile.samples[:, start:end].max(axis=1))
        np.testing.assert_allclose(
            mc.embeddings[i], tile.features[start:end].mean(axis=0), atol=1e-6
        )
    assert not np.allclose(mc.samples[0], mc.samples[1])
