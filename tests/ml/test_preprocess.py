import numpy as np
import pytest

from ml.preprocess import inputs_from_pixels, stack_inputs, to_model_input


def gradient(h: int, w: int) -> np.ndarray:
    return np.add.outer(np.arange(h), np.arange(w)).astype(np.float64)


def test_constant_image_gives_zeros_not_nan():
    out = to_model_input(np.full((64, 64), 1234, dtype=np.int16))
    assert out.shape == (128, 128)
    assert out.dtype == np.float32
    assert not np.isnan(out).any()
    assert (out == 0).all()


def test_uint16_input_scaled_to_unit_range():
    pixels = (gradient(512, 512) * 60).astype(np.uint16)  # up to ~61000, near the dtype limit
    out = to_model_input(pixels)
    assert out.shape == (128, 128)
    assert out.dtype == np.float32
    assert out.min() == 0.0
    assert out.max() == pytest.approx(1.0, abs=1e-6)


def test_same_result_with_or_without_rescale_slope():
    raw = np.random.default_rng(0).integers(0, 4000, size=(64, 64)).astype(np.uint16)
    rescaled = raw * 2.5 - 1024.0  # RescaleSlope 2.5, RescaleIntercept -1024
    np.testing.assert_allclose(to_model_input(raw), to_model_input(rescaled), atol=1e-5)


def test_hot_pixels_do_not_squash_the_rest():
    pixels = gradient(100, 100)
    pixels[0, :5] = 1e9  # a few hot pixels, below 1% of the image
    out = to_model_input(pixels, size=100)
    assert 0.4 < np.median(out) < 0.6


def test_non_square_input_is_padded_not_stretched():
    pixels = np.full((100, 50), 7.0)
    pixels[::2] = 9.0  # some content so normalisation has a range
    out = to_model_input(pixels, size=128)
    assert out.shape == (128, 128)
    # 50 of 100 columns are content, centred: the outer quarters are padding (0)
    assert (out[:, :28] == 0).all()
    assert (out[:, -28:] == 0).all()
    assert out[:, 40:88].mean() > 0.3


def test_nan_pixels_become_background():
    pixels = gradient(32, 32)
    pixels[3, 3] = np.nan
    out = to_model_input(pixels, size=32)
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("shape", [(64, 64, 3), (64,), (0, 0)])
def test_rejects_what_is_not_one_grayscale_slice(shape):
    with pytest.raises(ValueError):
        to_model_input(np.zeros(shape))


def test_stack_inputs_shape_and_checks():
    a, b = to_model_input(gradient(64, 64), 32), to_model_input(gradient(40, 80), 32)
    batch = stack_inputs([a, b], size=32)
    assert batch.shape == (2, 1, 32, 32)
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch[1, 0], b)
    assert stack_inputs([], size=32).shape == (0, 1, 32, 32)
    with pytest.raises(ValueError):
        stack_inputs([gradient(64, 64)], size=32)  # a raw slice, not a model input


def test_inputs_from_pixels_handles_mixed_sizes():
    batch = inputs_from_pixels([gradient(64, 64), gradient(512, 512), gradient(30, 70)], size=48)
    assert batch.shape == (3, 1, 48, 48)
