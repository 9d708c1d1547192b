import numpy as np
import pytest
import torch

from ml.fit import (
    CropSet,
    FitConfig,
    FitResult,
    WeightAverage,
    augment,
    balanced_batch,
    finding_groups,
    fit,
    lr_at,
    macro_auroc,
)
from ml.multilabel import ClassifierConfig, LesionNet, predict
from ml.report import youden_thresholds
from tests.ml.lesion_data import dots_and_bars

NET = ClassifierConfig(n_lesions=2, in_size=16, width=4, planes=2, sequences=2)


def small(**changes) -> FitConfig:
    return FitConfig(
        **{"steps": 100, "batch_size": 32, "eval_every": 20, "max_shift": 2, **changes}
    )


@pytest.fixture(scope="module")
def toy() -> tuple[CropSet, CropSet]:
    return dots_and_bars(200, seed=0), dots_and_bars(40, seed=1)


@pytest.fixture(scope="module")
def fitted(toy) -> tuple[FitResult, list[dict]]:
    """100 steps on the dots-and-bars crops (about 1.5 s)."""
    train, val = toy
    seen = []
    return fit(train, val, NET, small(lr=3e-3), progress=seen.append), seen


def test_learns_dots_and_bars(fitted, toy):
    result, _ = fitted
    _, val = toy
    assert result.best_val_macro_auroc > 0.9
    probs = predict(result.model, val.crops, val.planes, val.sequences)
    assert macro_auroc(probs, val.labels) == pytest.approx(result.best_val_macro_auroc)
    assert result.history[0]["loss"] > result.history[-1]["loss"]
    assert not result.model.training


def test_keeps_the_best_evaluation(fitted):
    result, _ = fitted
    scores = [h["val_macro_auroc"] for h in result.history]
    assert [h["step"] for h in result.history] == [20, 40, 60, 80, 100]
    assert result.best_val_macro_auroc == max(scores)
    assert result.best_step == result.history[int(np.argmax(scores))]["step"]


def test_thresholds_are_youden_per_finding_on_validation(fitted, toy):
    result, _ = fitted
    _, val = toy
    probs = predict(result.model, val.crops, val.planes, val.sequences)
    assert result.thresholds.shape == (2,)
    np.testing.assert_array_equal(result.thresholds, youden_thresholds(probs, val.labels))
    assert result.thresholds[0] != result.thresholds[1]


def test_progress_every_log_every_steps_and_after_every_evaluation(fitted):
    result, seen = fitted
    assert [s["step"] for s in seen] == list(range(10, 101, 10))
    assert set(seen[0]) == {"step", "steps", "loss", "val_macro_auroc", "eta_s"}
    assert seen[0]["val_macro_auroc"] is None  # before the first evaluation
    assert seen[2]["val_macro_auroc"] == result.history[0]["val_macro_auroc"]  # latest
    at_evals = [s for s in seen if s["step"] % 20 == 0]
    assert [{k: s[k] for k in ("step", "loss", "val_macro_auroc")} for s in at_evals] == (
        result.history
    )
    assert seen[0]["steps"] == 100 and seen[-1]["eta_s"] == 0.0


def test_same_seed_same_weights_other_seed_other_weights(toy):
    train, val = toy
    cfg = small(steps=6, eval_every=3)
    a, b = fit(train, val, NET, cfg), fit(train, val, NET, cfg)
    c = fit(train, val, NET, small(steps=6, eval_every=3, seed=1))
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    assert a.history == b.history
    assert not torch.equal(a.model.head_fc.weight, c.model.head_fc.weight)


def test_stops_after_patience_evaluations_without_improvement():
    rng = np.random.default_rng(0)
    noise = CropSet(rng.random((64, 16, 16)), rng.random((64, 2)) < 0.5, np.zeros(64), np.zeros(64))
    val = CropSet(rng.random((32, 16, 16)), rng.random((32, 2)) < 0.5, np.zeros(32), np.zeros(32))
    result = fit(noise, val, NET, small(steps=200, eval_every=2, patience=2, batch_size=8))
    assert result.stopped_early and result.steps < 200
    best = [h["step"] for h in result.history].index(result.best_step)
    assert len(result.history) - 1 - best == 2  # exactly `patience` evaluations after the best


def test_without_validation_keeps_the_last_weights_and_neutral_thresholds(toy):
    train, _ = toy
    result = fit(train, None, NET, small(steps=4, eval_every=2))
    assert result.steps == 4 and result.best_step == 4
    assert [h["val_macro_auroc"] for h in result.history] == [None, None]
    np.testing.assert_array_equal(result.thresholds, [0.5, 0.5])


def test_averaging_with_decay_zero_is_training_without_averaging(toy):
    # the average's twin is a copy: making it draws nothing from the RNG, so the run is the same
    train, val = toy
    plain = fit(train, val, NET, small(steps=6, eval_every=3, ema_decay=None))
    zero = fit(train, val, NET, small(steps=6, eval_every=3, ema_decay=0.0))
    averaged = fit(train, val, NET, small(steps=6, eval_every=3, ema_decay=0.9))
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, zero.model.state_dict()[key]), key
    assert not torch.equal(plain.model.head_fc.weight, averaged.model.head_fc.weight)


def test_the_average_follows_the_weights_with_a_ramped_decay():
    net = ClassifierConfig(n_lesions=1, in_size=8, width=2, planes=1, sequences=1)
    model = LesionNet(net)
    with torch.no_grad():
        model.head_fc.weight.fill_(0.0)
    average = WeightAverage(model, decay=0.98)
    with torch.no_grad():
        model.head_fc.weight.fill_(1.0)
    average.update(model)  # first decay: min(0.98, 2 / 11)
    expected = 1.0 - 2 / 11
    weight = average.model.head_fc.weight
    torch.testing.assert_close(weight, torch.full_like(weight, expected))
    for _ in range(2000):
        average.update(model)
    torch.testing.assert_close(average.model.head_fc.weight, model.head_fc.weight)
    assert average.model is not model and not average.model.training


def test_balanced_batches_draw_each_finding_and_unremarkable_equally():
    labels = np.zeros((1000, 2), dtype=bool)
    labels[:80, 0] = True  # 8% finding A
    labels[80:90, 1] = True  # 1% finding B; the other 91% unremarkable
    groups = finding_groups(labels)
    assert [len(g) for g in groups] == [80, 10, 910]
    rng = np.random.default_rng(0)
    drawn = np.concatenate([balanced_batch(groups, 32, rng) for _ in range(300)])
    assert len(drawn) == 9600
    counts = [labels[drawn, 0].sum(), labels[drawn, 1].sum(), (~labels[drawn].any(1)).sum()]
    np.testing.assert_allclose(counts, 3200, rtol=0.05)
    # every B slice gets drawn, not just a few of them
    assert set(drawn[labels[drawn, 1]]) == set(range(80, 90))


def test_groups_skip_empty_findings_and_share_co_occurring_slices():
    labels = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)  # nothing unremarkable
    groups = finding_groups(labels)
    assert [g.tolist() for g in groups] == [[0, 1], [0, 2]]
    batch = balanced_batch(groups, 5, np.random.default_rng(0))
    assert len(batch) == 5 and set(batch) <= {0, 1, 2}


def test_learning_rate_warms_up_then_decays():
    cfg = FitConfig(steps=100, lr=1e-3, warmup_frac=0.1, min_lr_frac=0.1)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert max(lrs) == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01)


def test_presets():
    cpu, gpu = FitConfig.cpu(), FitConfig.gpu()
    assert cpu.device == "cpu" and gpu.device == "cuda"
    assert gpu.steps * gpu.batch_size > cpu.steps * cpu.batch_size
    assert FitConfig.cpu(seed=3).seed == 3


def test_refuses_labels_that_do_not_match_the_net(toy):
    train, _ = toy
    with pytest.raises(ValueError):
        fit(train, None, ClassifierConfig(n_lesions=3, in_size=16, width=4), small(steps=1))


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_refuses_a_decay_outside_zero_to_one(decay):
    with pytest.raises(ValueError, match="ema_decay"):
        small(ema_decay=decay)


def test_augment_shifts_and_flips_only_horizontally():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8)
    still = FitConfig(max_shift=0, hflip=False, max_gain=0.0)
    torch.testing.assert_close(augment(x, still, np.random.default_rng(0)), x)
    flips = FitConfig(max_shift=0, hflip=True, max_gain=0.0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        out = augment(x, flips, rng)
        for i in range(2):
            assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(2))
    shifted = augment(x, FitConfig(max_shift=2, hflip=False, max_gain=0.0), rng)
    assert shifted.shape == x.shape
