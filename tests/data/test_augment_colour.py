"""Augmentation of colour images: random resized crops, colour jitter, fancy PCA against numpy's
covariance, ten-crop testing, and the colour MNIST they are studied on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainwell.data import load_dataset, mnist5k
from trainwell.data.augment import check_transforms, compose, predict_tta
from trainwell.data.augment_colour import LUMA, colour_basis, colour_jitter, fancy_pca
from trainwell.data.augment_crop import resized_crop, resized_crop_by, ten_crop_views
from trainwell.data.colour_mnist import MIN_COLOUR_DISTANCE, paint
from trainwell.errors import ConfigError
from trainwell.execute import check_runnable, execute, prepare_data
from trainwell.recipe import Recipe


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _coordinates(n, size=64):
    """Images whose channel 0 is each pixel centre's x and channel 1 its y, normalized."""
    c = (2 * torch.arange(size, dtype=torch.float32) + 1) / size - 1
    grid = torch.stack([c.expand(size, size), c[:, None].expand(size, size)])
    return grid.expand(n, 2, size, size).contiguous()


# -- random resized crops --------------------------------------------------------------------

def test_resized_crop_areas_and_aspects_stay_in_their_ranges_and_vary():
    size, n = 64, 400
    out = resized_crop(_coordinates(n, size), _gen(0), scale=[0.3, 0.8], ratio=[0.5, 2.0])
    span = 2 - 2 / size  # from the first pixel centre to the last, for a whole-image crop
    w = (out[:, 0, 0, -1] - out[:, 0, 0, 0]) / span
    h = (out[:, 1, -1, 0] - out[:, 1, 0, 0]) / span
    area, aspect = w * h, w / h
    tol = 2 / size
    assert area.min() > 0.3 - tol and area.max() < 0.8 + tol
    assert aspect.min() > 0.5 - tol and aspect.max() < 2.0 + 2 * tol
    assert area.std() > 0.1 and aspect.log().std() > 0.2
    centre = out[:, 0, :, :].mean(dim=(1, 2))
    assert centre.min() < -0.2 and centre.max() > 0.2  # crops are placed all over the image


def test_resized_crop_by_reads_a_corner_like_interpolate_of_the_cropped_pixels():
    x = torch.randn(2, 3, 8, 8, generator=_gen(1))
    # the top-left 4 x 4 enlarged twice: bilinear, half-pixel centres, edges clamped
    expected = F.interpolate(x[:, :, :4, :4], scale_factor=2, mode="bilinear",
                             align_corners=False)
    got = resized_crop_by(x, -0.5, -0.5, 0.5, 0.5)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    assert torch.allclose(got[inner], expected[inner], atol=1e-5)


# -- colour jitter ---------------------------------------------------------------------------

def test_colour_jitter_without_saturation_is_grey_and_offsets_stay_in_range():
    x = torch.rand(64, 3, 6, 6, generator=_gen(2))
    grey = colour_jitter(x, _gen(3), brightness=0.0, contrast=0.0, saturation=1.0)
    # saturation 1 - u with u ~ U(-1, 1): some images come out nearly grey, others boosted
    spread = (grey - grey.mean(1, keepdim=True)).abs().amax(dim=(1, 2, 3))
    assert spread.min() < 0.1 * spread.max()
    lit = colour_jitter(x, _gen(3), brightness=0.5, contrast=0.0, saturation=0.0)
    shift = (lit - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-6)  # one offset each
    assert shift.abs().max() <= 0.5 and shift[:, 0].std() > 0.2


def test_colour_jitter_contrast_keeps_each_images_mean_grey_level():
    x = torch.rand(32, 3, 6, 6, generator=_gen(4))
    out = colour_jitter(x, _gen(5), brightness=0.0, contrast=0.8, saturation=0.0)
    weights = torch.tensor(LUMA).view(1, 3, 1, 1)

    def mean_grey(t):
        return (t * weights).sum(1).mean(dim=(1, 2))

    assert torch.allclose(mean_grey(out), mean_grey(x), atol=1e-5)
    assert not torch.allclose(out, x, atol=1e-2)


# -- fancy PCA -------------------------------------------------------------------------------

def test_colour_basis_agrees_with_numpy_covariance_and_eigh():
    mix = torch.tensor([[1.0, 0.5, 0.2], [0.0, 1.0, 0.3], [0.0, 0.0, 0.4]])
    pixels = torch.randn(5000, 3, generator=_gen(6)) @ mix + torch.tensor([3.0, -1.0, 0.5])
    x = pixels.T.reshape(3, 50, 10, 10).permute(1, 0, 2, 3).contiguous()
    values, vectors = colour_basis(x, chunk=7)
    ref_values, ref_vectors = np.linalg.eigh(np.cov(pixels.numpy().T))
    assert np.allclose(values.numpy(), ref_values, rtol=1e-4)
    assert np.allclose(np.abs(vectors.numpy().T @ ref_vectors), np.eye(3), atol=1e-4)


def test_fancy_pca_keeps_the_mean_in_expectation_and_moves_along_the_principal_axes():
    torch.manual_seed(0)
    vectors = torch.linalg.qr(torch.randn(3, 3, generator=_gen(7)))[0]
    values = torch.tensor([0.01, 0.25, 4.0])
    x = torch.randn(1, 3, 4, 4, generator=_gen(8)).expand(20000, 3, 4, 4)
    out = fancy_pca(x, _gen(9), (values, vectors), std=0.1)
    offset = (out - x)[:, :, 0, 0]
    assert torch.allclose(out - x, offset[:, :, None, None].expand_as(x), atol=1e-6)
    # mean zero (the standard error of each channel's mean is below 0.1 * 2 / sqrt(20000))
    assert offset.mean(0).abs().max() < 5e-3
    expected = vectors @ torch.diag(0.01 * values) @ vectors.T
    assert torch.allclose(torch.cov(offset.T), expected, atol=2e-3)


def test_augment_takes_fancy_pcas_axes_from_the_training_set_not_from_each_batch():
    # training colours vary along red only; a batch of images that vary along blue only
    train = torch.zeros(40, 3, 4, 4)
    train[:, 0] = torch.randn(40, 4, 4, generator=_gen(10))
    batch = torch.zeros(64, 3, 4, 4)
    batch[:, 2] = torch.randn(64, 4, 4, generator=_gen(11))
    learned = compose(["fancy_pca"], (3, 4, 4), train_inputs=train)(batch, _gen(12))
    own = compose(["fancy_pca"], (3, 4, 4))(batch, _gen(12))
    moved_learned = (learned - batch).abs().amax(dim=(0, 2, 3))
    moved_own = (own - batch).abs().amax(dim=(0, 2, 3))
    assert moved_learned[0] > 0.01 and moved_learned[1:].max() < 1e-6
    assert moved_own[2] > 0.01 and moved_own[:2].max() < 1e-6


def test_colour_transforms_refuse_grey_images_signals_and_tables_naming_the_key():
    for name in ("colour_jitter", "fancy_pca"):
        assert check_transforms([name], (3, 8, 8))[0][0] == name
        for shape, says in (((1, 28, 28), "needs 3 channels"), ((1, 40), "1-D signals"),
                            ((10,), "no transform takes")):
            with pytest.raises(ConfigError, match=says) as err:
                check_transforms([name], shape)
            assert err.value.key == "augment.transforms"
    with pytest.raises(ConfigError) as err:
        check_transforms([{"name": "resized_crop", "scale": [0.9, 0.2]}])
    assert err.value.key == "augment.resized_crop.scale"
    with pytest.raises(ConfigError) as err:
        check_transforms([{"name": "resized_crop", "ratio": [1.0]}])
    assert err.value.key == "augment.resized_crop.ratio"
    with pytest.raises(ValueError, match="RGB"):
        fancy_pca(torch.zeros(2, 1, 4, 4))


# -- ten-crop testing ------------------------------------------------------------------------

def test_ten_crops_are_the_centre_and_corners_then_their_mirrors():
    x = _coordinates(2, 16)
    views = ten_crop_views(x, 0.5)
    assert len(views) == 10 and len(ten_crop_views(x, 0.5, flip=False)) == 5
    centres = [(v[0, 1].mean().item(), v[0, 0].mean().item()) for v in views[:5]]
    assert centres[0] == pytest.approx((0.0, 0.0), abs=1e-6)
    assert centres[1:] == [pytest.approx(c, abs=5e-3) for c in  # edges clamp to a pixel centre
                           [(-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5)]]
    assert all(m.equal(v.flip(-1)) for m, v in zip(views[5:], views[:5], strict=True))
    whole = ten_crop_views(x, 1.0, flip=False)
    assert all(torch.allclose(v, x, atol=1e-6) for v in whole)


def test_predict_tta_with_crops_is_the_mean_softmax_over_the_ten_crops():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    x = torch.randn(6, 3, 8, 8, generator=_gen(13))
    expected = torch.stack([F.softmax(model(v), 1) for v in ten_crop_views(x, 0.75)]).mean(0)
    got = predict_tta(model, x, 1, crop=0.75, batch_size=4)
    assert torch.allclose(got, expected, atol=1e-6)
    with pytest.raises(ValueError, match="images"):
        predict_tta(model, torch.randn(2, 1, 40), 1, crop=0.75)


COLOUR = {"data": {"name": "colour_mnist", "labels_per_class": 5, "val_fraction": 0.05},
          "model": {"name": "mlp", "depth": 1, "width": 16},
          "train": {"epochs": 1, "threads": 1, "batch_size": 25, "record_every": 0}}


def test_a_colour_recipe_trains_with_the_new_transforms_and_ten_crop_testing(one_thread):
    recipe = Recipe.from_dict({**COLOUR, "augment": {
        "transforms": ["hflip", "resized_crop", "colour_jitter", "fancy_pca"], "test_crop": 0.8}})
    out = execute(recipe)
    assert out.status == "done"
    final = out.history.final
    assert {"test_acc", "test_acc_single", "test_loss_single"} <= set(final)
    assert final["test_loss"] != final["test_loss_single"]
    assert execute(recipe).history.step_loss == out.history.step_loss


def test_test_crop_and_test_views_together_are_refused_by_the_recipe_itself():
    with pytest.raises(ConfigError, match="one kind of test-time views") as err:
        Recipe.from_dict({**COLOUR, "augment": {"test_crop": 0.8, "test_views": 3}})
    assert err.value.key == "augment.test_crop"


@pytest.mark.parametrize("augment, data, says", [
    ({"test_crop": 0.8}, {"name": "mnist1d", "num_samples": 200}, "images"),
    ({"transforms": ["colour_jitter"]}, {"name": "digits"}, "needs 3 channels"),
])
def test_bad_test_crops_and_colour_transforms_are_refused_before_training(augment, data, says):
    recipe = Recipe.from_dict({**COLOUR, "data": data, "augment": augment})
    with pytest.raises(ConfigError, match=says):
        check_runnable(recipe, prepare_data(recipe, torch.device("cpu")))
    assert Recipe.from_dict({**COLOUR, "augment": {"test_crop": 0.8}}).to_dict()[
        "augment"]["test_crop"] == 0.8
    assert "test_crop" not in Recipe.from_dict(COLOUR).to_dict().get("augment", {})


# -- colour MNIST ----------------------------------------------------------------------------

def test_paint_keeps_foreground_and_background_apart_and_is_deterministic():
    grey = np.zeros((500, 2, 2))
    grey[:, 0, 0] = 1.0
    a, b, c = paint(grey, 1), paint(grey, 1), paint(grey, 2)
    assert a.shape == (500, 3, 2, 2) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    fg, bg = a[:, :, 0, 0], a[:, :, 1, 1]
    assert np.linalg.norm(fg - bg, axis=1).min() >= MIN_COLOUR_DISTANCE - 1e-6
    assert 0 <= a.min() and a.max() <= 1
    assert abs(bg.mean() - 0.5) < 0.05  # uniform colours, no bias


def test_colour_mnist_is_mnist5k_in_colour_with_the_same_split_and_labels():
    grey = mnist5k(val_fraction=0.1, normalize="unit")
    colour = load_dataset("colour_mnist", val_fraction=0.1, normalize="unit")
    assert colour.x_train.shape == (3600, 3, 28, 28) and colour.meta.input_shape == (3, 28, 28)
    assert colour.y_train.equal(grey.y_train) and colour.y_test.equal(grey.y_test)
    # where the digit is fully on, every channel has the foreground colour: the background
    # pixels are one colour, the digit's strokes another
    img, ink = colour.x_train[0], grey.x_train[0, 0]
    assert torch.allclose(img[:, ink == 0], img[:, ink == 0][:, :1], atol=1e-6)
    assert load_dataset("colour_mnist", seed=1, val_fraction=0.1).x_train.ne(
        load_dataset("colour_mnist", val_fraction=0.1).x_train).any()
    means = torch.stack([colour.x_train[colour.y_train == k].mean(dim=(0, 2, 3))
                         for k in range(10)])
    assert (means - means.mean(0)).abs().max() < 0.05  # colour says nothing of the class


def test_crop_testing_refuses_a_bad_size_and_handles_an_empty_batch():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    for size in (0.0, 1.5, True):
        with pytest.raises(ValueError, match="fraction of each side"):
            predict_tta(model, torch.randn(2, 3, 8, 8), 1, crop=size)
    assert predict_tta(model, torch.randn(0, 3, 8, 8), 1, crop=0.5).shape == (0, 4)
