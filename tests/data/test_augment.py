"""Batched augmentation: shapes and labels kept, per-sample draws, reproducible generators,
references (F.pad + crop, torch.roll, torch.rot90), bad input, test data untouched, TTA."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from trainwell.data.augment import (
    TRANSFORM_DESCRIPTIONS,
    TRANSFORMS,
    Augment,
    affine_by,
    check_transforms,
    compose,
    cutout,
    hflip,
    jitter,
    noise,
    predict_tta,
    shear,
    shift,
    shift_by,
    stretch_by,
    translate,
    translate_by,
    tta_views,
)
from trainwell.data.dataset import Dataset, DatasetMeta
from trainwell.errors import ConfigError
from trainwell.loop import Callback, evaluate, fit

SHAPES = {"image": (3, 8, 8), "signal": (1, 40)}
KIND = {name: t.kinds[0] for name, t in TRANSFORMS.items()}


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(kind, n=16, seed=0, dtype=torch.float32):
    return torch.randn(n, *SHAPES[kind], generator=_gen(seed), dtype=dtype)


def _apply(name, x, generator):
    return TRANSFORMS[name].fn(x, generator)


def _dataset(kind, n=32, seed=0):
    g = _gen(seed)
    x = torch.randn(n + 8, *SHAPES[kind], generator=g)
    y = torch.randint(0, 3, (n + 8,), generator=g)
    meta = DatasetMeta(name="toy", input_shape=SHAPES[kind], num_classes=3, source="test")
    return Dataset(x[:n], y[:n], x[n:n + 4], y[n:n + 4], x[n + 4:], y[n + 4:], meta=meta)


def _model(kind):
    torch.manual_seed(0)
    d = torch.Size(SHAPES[kind]).numel()
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d, 3))


class Record(Callback):
    """Keeps (xb, yb) as they are when this callback runs in ``before_step``."""

    def __init__(self, order):
        self.order, self.batches = order, []

    def before_step(self, state):
        self.batches.append((state.xb.clone(), state.yb.clone()))


def _fit(ds, callbacks, epochs=1):
    model = _model("image" if ds.x_train.dim() == 4 else "signal")
    return model, fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=epochs,
                      batch_size=8, callbacks=callbacks, generator=_gen(0))


# -- every transform -------------------------------------------------------------------------

@pytest.mark.parametrize("name", TRANSFORMS)
def test_augment_in_fit_changes_the_inputs_keeps_shape_dtype_device_and_labels(name, one_thread):
    ds = _dataset(KIND[name])
    before, after = Record(-1000), Record(1000)
    _fit(ds, [Augment([name]), before, after])
    assert len(before.batches) == len(after.batches) == 4
    changed = 0
    for (x0, y0), (x1, y1) in zip(before.batches, after.batches, strict=True):
        assert (x1.shape, x1.dtype, x1.device) == (x0.shape, x0.dtype, x0.device)
        assert y1.equal(y0)
        changed += not x1.equal(x0)
    assert changed == 4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", TRANSFORMS)
def test_a_direct_call_keeps_shape_and_dtype_and_leaves_its_input_alone(name, dtype):
    x = _batch(KIND[name], dtype=dtype)
    copy = x.clone()
    out = _apply(name, x, _gen())
    assert (out.shape, out.dtype, out.device) == (x.shape, dtype, x.device)
    assert x.equal(copy)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", TRANSFORMS)
def test_the_same_seed_gives_the_same_batch_and_another_seed_another(name):
    x = _batch(KIND[name])
    a, b, c = _apply(name, x, _gen(1)), _apply(name, x, _gen(1)), _apply(name, x, _gen(2))
    assert a.equal(b)
    assert not a.equal(c)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_parameters_are_drawn_per_sample_not_once_for_the_batch(name):
    x = _batch(KIND[name], n=1).expand(32, *SHAPES[KIND[name]]).contiguous()
    out = _apply(name, x, _gen(3)).flatten(1)
    distinct = torch.unique(out, dim=0)
    assert len(distinct) > (1 if name == "hflip" else 8)  # shift: 17 values, 14 expected


def test_a_generator_drives_the_draws_not_the_global_seed():
    x = _batch("signal")
    torch.manual_seed(0)
    a = shift(x, _gen(5))
    torch.manual_seed(1)
    assert shift(x, _gen(5)).equal(a)


def test_the_registry_is_complete_and_every_default_is_valid():
    assert set(TRANSFORM_DESCRIPTIONS) == set(TRANSFORMS)
    for name, t in TRANSFORMS.items():
        assert t.description and set(t.kinds) <= {"image", "signal"}
        for kind in t.kinds:
            assert check_transforms([name], SHAPES[kind])[0][0] == name
    assert TRANSFORMS["noise"].kinds == ("image", "signal")


# -- images ----------------------------------------------------------------------------------

def test_hflip_with_p_1_mirrors_every_image_and_twice_is_the_identity():
    x = _batch("image")
    once = hflip(x, _gen(), p=1.0)
    assert once.equal(x.flip(-1))
    assert hflip(once, _gen(), p=1.0).equal(x)
    assert hflip(x, _gen(), p=0.0).equal(x)


def test_hflip_twice_with_the_same_draw_is_the_identity():
    x = _batch("image", n=64)
    once = hflip(x, _gen(7))
    flipped = [not a.equal(b) for a, b in zip(once, x, strict=True)]
    assert 10 < sum(flipped) < 54
    assert hflip(once, _gen(7)).equal(x)


@pytest.mark.parametrize("padding,mode", [("reflect", "reflect"), ("zeros", "constant"),
                                          ("border", "replicate")])
def test_translate_by_equals_pad_then_crop(padding, mode):
    x, p = _batch("image", n=25), 2
    dy = torch.arange(-p, p + 1).repeat_interleave(5)
    dx = torch.arange(-p, p + 1).repeat(5)
    padded = F.pad(x, (p, p, p, p), mode=mode)
    expected = torch.stack([padded[n, :, p - dy[n]:p - dy[n] + 8, p - dx[n]:p - dx[n] + 8]
                            for n in range(25)])
    assert translate_by(x, dy, dx, padding=padding).equal(expected)


def test_translate_draws_every_offset_within_pixels():
    x = torch.zeros(2000, 1, 9, 9)
    x[:, :, 4, 4] = 1
    out = translate(x, _gen(), pixels=2, padding="zeros")
    where = out.flatten(1).argmax(1)
    dy, dx = where // 9 - 4, where % 9 - 4
    offsets = torch.stack([dy, dx], 1)
    counts = torch.unique(offsets, dim=0, return_counts=True)[1]
    assert len(counts) == 25 and offsets.abs().max() == 2
    assert stats.chisquare(counts.numpy()).pvalue > 1e-4


def test_affine_by_a_right_angle_is_rot90_and_zero_angle_unit_zoom_is_the_identity():
    x = _batch("image")
    assert torch.allclose(affine_by(x, 90.0, 1.0), torch.rot90(x, 1, (-2, -1)), atol=1e-5)
    assert torch.allclose(affine_by(x, -90.0, 1.0), torch.rot90(x, -1, (-2, -1)), atol=1e-5)
    assert torch.allclose(affine_by(x, 0.0, 1.0), x, atol=1e-5)


def test_cutout_zeroes_exactly_one_size_by_size_square_per_sample_in_every_channel():
    x = torch.ones(200, 3, 8, 8)
    out = cutout(x, _gen(), size=3)
    zero = out == 0
    assert (zero.sum(dim=(1, 2, 3)) == 3 * 3 * 3).all()
    assert (zero == zero[:, :1]).all()
    rows, cols = zero[:, 0].any(2), zero[:, 0].any(1)
    assert (rows.sum(1) == 3).all() and (cols.sum(1) == 3).all()
    top, left = rows.float().argmax(1), cols.float().argmax(1)
    assert set(top.tolist()) == set(range(6)) and set(left.tolist()) == set(range(6))
    assert cutout(x, _gen(), size=8).eq(0).all() and cutout(x, _gen(), size=0).equal(x)


def test_jitter_changes_contrast_and_brightness_within_their_bounds():
    x = _batch("image", n=200)
    out = jitter(x, _gen(), brightness=0.3, contrast=0.2)
    mean_in, mean_out = x.mean(dim=(1, 2, 3)), out.mean(dim=(1, 2, 3))
    offset = mean_out - mean_in
    centred_in = (x - mean_in.view(-1, 1, 1, 1)).flatten(1)
    centred_out = (out - mean_out.view(-1, 1, 1, 1)).flatten(1)
    gain = (centred_in * centred_out).sum(1) / centred_in.pow(2).sum(1)  # least squares
    assert torch.allclose(centred_out, gain[:, None] * centred_in, atol=1e-5)
    assert offset.abs().max() <= 0.3 + 1e-5 and offset.abs().max() > 0.25
    assert (gain - 1).abs().max() <= 0.2 + 1e-5 and (gain - 1).abs().max() > 0.15


@pytest.mark.parametrize("kind", ["image", "signal"])
def test_noise_is_gaussian_with_the_given_std(kind):
    x = _batch(kind, n=64)
    diff = (noise(x, _gen(), std=0.3) - x).flatten()
    assert stats.kstest(diff.numpy(), "norm", args=(0, 0.3)).pvalue > 1e-4


# -- signals ---------------------------------------------------------------------------------

def test_shift_by_k_then_minus_k_is_the_identity_and_matches_torch_roll():
    x = _batch("signal")
    k = torch.randint(-39, 40, (16,), generator=_gen())
    moved = shift_by(x, k)
    assert shift_by(moved, -k).equal(x)
    expected = torch.stack([torch.roll(x[n], int(k[n]), dims=-1) for n in range(16)])
    assert moved.equal(expected)


def test_a_zero_filled_shift_drops_what_leaves_and_fills_zeros():
    x = torch.arange(1.0, 6.0).view(1, 1, 5).repeat(2, 1, 1)
    out = shift_by(x, torch.tensor([2, -1]), circular=False)
    assert out.tolist() == [[[0, 0, 1, 2, 3]], [[2, 3, 4, 5, 0]]]


def test_shift_draws_every_k_up_to_max_shift_uniformly():
    x = torch.zeros(3400, 1, 40)
    x[:, :, 20] = 1
    k = shift(x, _gen(), max_shift=8).flatten(1).argmax(1) - 20
    counts = torch.bincount(k + 8)
    assert len(counts) == 17 and (counts > 0).all()
    assert stats.chisquare(counts.numpy()).pvalue > 1e-4


def test_stretch_by_reads_a_ramp_at_the_stretched_positions():
    ramp = torch.arange(41.0).view(1, 1, 41).expand(3, 2, 41)
    factor = torch.tensor([0.8, 1.0, 1.25])
    out = stretch_by(ramp, factor)
    m = 20.0
    expected = (m + (torch.arange(41.0) - m) / factor[:, None]).view(3, 1, 41)
    inside = (expected >= 0) & (expected <= 40)
    assert torch.allclose(out[:, :1][inside], expected[inside], atol=1e-4)
    assert (out[:, :1][~inside].abs() < 40).all()
    assert out[:, 0].equal(out[:, 1])


def test_shear_adds_one_linear_ramp_per_sample_within_scale():
    x = _batch("signal", n=300)
    x = torch.cat([x, x], 1)
    diff = shear(x, _gen(), scale=0.75) - x
    assert torch.allclose(diff[:, 0], diff[:, 1])
    slope = diff[:, 0, 0] - diff[:, 0, -1]  # a_n: the ramp runs from -0.5 to 0.5
    ramp = torch.linspace(-0.5, 0.5, 40)
    assert torch.allclose(diff[:, 0], -slope[:, None] * ramp, atol=1e-5)
    assert slope.abs().max() <= 0.375 + 1e-5
    assert stats.kstest(slope.numpy(), "uniform", args=(-0.375, 0.75)).pvalue > 1e-4


# -- recipes and the callback ----------------------------------------------------------------

def test_specs_in_every_form_are_checked_and_get_their_defaults():
    got = check_transforms([{"name": "shift", "max_shift": 4}, ("noise", {"std": 0.1}), "shear"],
                           (1, 40))
    assert got == [("shift", {"max_shift": 4, "circular": True}), ("noise", {"std": 0.1}),
                   ("shear", {"scale": 0.75})]


def test_an_image_transform_on_signals_and_a_signal_transform_on_images_name_the_transform():
    with pytest.raises(ConfigError, match="hflip") as err:
        check_transforms([{"name": "noise"}, {"name": "hflip"}], (1, 40))
    assert err.value.key == "augment.transforms" and "shift" in str(err.value)
    with pytest.raises(ConfigError, match="stretch.*images") as err:
        check_transforms(["stretch"], (1, 28, 28))
    assert err.value.value == "stretch"
    with pytest.raises(ConfigError, match=r"\(784,\)"):
        check_transforms(["noise"], (784,))


def test_an_unknown_transform_lists_the_known_ones():
    with pytest.raises(ConfigError, match="did you mean 'cutout'") as err:
        check_transforms([{"name": "cutuot"}])
    assert err.value.key == "augment.transforms" and "hflip" in err.value.allowed


@pytest.mark.parametrize("spec,shape,key", [
    ({"name": "hflip", "p": 1.5}, None, "augment.hflip.p"),
    ({"name": "cutout", "size": -1}, None, "augment.cutout.size"),
    ({"name": "translate", "padding": "wrap"}, None, "augment.translate.padding"),
    ({"name": "shift", "max_shfit": 3}, None, "augment.shift.max_shfit"),
    ({"name": "stretch", "scale": 2.0}, None, "augment.stretch.scale"),
    ({"name": "cutout", "size": 9}, (1, 8, 8), "augment.cutout.size"),
    ({"name": "translate", "pixels": 8}, (1, 8, 8), "augment.translate.pixels"),
    ({"name": "shift", "max_shift": 40}, (1, 40), "augment.shift.max_shift"),
])
def test_a_bad_option_names_its_key(spec, shape, key):
    with pytest.raises(ConfigError) as err:
        check_transforms([spec], shape)
    assert err.value.key == key


@pytest.mark.parametrize("specs", ["shift", {"name": "shift"}, [42], [("shift", 3)]])
def test_specs_that_are_not_a_list_of_transforms_are_refused(specs):
    with pytest.raises(ConfigError, match="augment.transforms"):
        check_transforms(specs)


def test_augment_checks_options_at_once_and_the_shape_when_fit_starts(one_thread):
    with pytest.raises(ConfigError, match="augment.noise.std"):
        Augment([{"name": "noise", "std": -1.0}])
    with pytest.raises(ConfigError, match="augment.seed"):
        Augment(["noise"], seed=-1)
    with pytest.raises(ConfigError, match="'hflip'"):
        _fit(_dataset("signal"), [Augment(["hflip"])])


def test_augment_never_touches_the_dataset_and_metrics_are_on_clean_data(one_thread):
    ds = _dataset("image")
    saved = {k: getattr(ds, k).clone() for k in ("x_train", "x_val", "x_test", "y_train")}
    model, history = _fit(ds, [Augment([{"name": "noise", "std": 5.0}, "cutout", "hflip"])],
                          epochs=2)
    for k, v in saved.items():
        assert getattr(ds, k).equal(v), k
    loss, acc = evaluate(model, ds.x_test, ds.y_test)
    assert history.final["test_loss"] == pytest.approx(loss)
    assert history.final["test_acc"] == acc


def test_augment_is_reproducible_from_its_seed_or_its_generator(one_thread):
    ds = _dataset("signal")
    specs = [{"name": "shift"}, {"name": "noise"}]

    def batches(aug):
        rec = Record(0)
        _fit(ds, [aug, rec], epochs=2)
        return torch.cat([x for x, _ in rec.batches])

    a = Augment(specs, seed=3)
    first = batches(a)
    assert batches(a).equal(first)  # a fresh generator per fit
    assert batches(Augment(specs, seed=3)).equal(first)
    assert not batches(Augment(specs, seed=4)).equal(first)
    assert batches(Augment(specs, generator=_gen(3))).equal(first)


def test_compose_applies_in_order():
    x = _batch("signal")
    aug = compose([("shift", {"max_shift": 3}), ("shear", {})], (1, 40))
    g = _gen(9)
    expected = shear(shift(x, g, max_shift=3), g)
    assert aug(x, _gen(9)).equal(expected)


def test_importing_augment_loads_nothing_from_train():
    script = ("import json, sys, trainwell.data.augment; "
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('trainwell.'))))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    above = {"train", "pretrain", "diagnose", "execute", "recipe_diagnosis", "recipe_pretrain",
             "plan", "run", "results", "report", "cli"}
    assert not [m for m in json.loads(out) if m.split(".")[1] in above]


# -- test-time augmentation ------------------------------------------------------------------

def test_tta_views_start_with_the_identity_then_the_mirror_then_shifts():
    x = _batch("image")
    views = tta_views(x, "image", 6)
    assert len(views) == 6 and views[0].equal(x) and views[1].equal(x.flip(-1))
    assert views[2].equal(translate_by(x, 0, 1)) and views[3].equal(translate_by(x, 0, -1))
    assert views[4].equal(translate_by(x, 1, 0)) and views[5].equal(translate_by(x, -1, 0))
    again = tta_views(x, "image", 6)
    assert all(a.equal(b) for a, b in zip(views, again, strict=True))
    assert not tta_views(x, "image", 2, flip=False)[1].equal(views[1])


def test_signal_views_are_distinct_circular_shifts_identity_first():
    x = _batch("signal")
    views = tta_views(x, "signal", 40)
    assert views[0].equal(x)
    assert views[1].equal(torch.roll(x, 1, -1)) and views[2].equal(torch.roll(x, -1, -1))
    assert len(torch.unique(torch.stack([v[0].flatten() for v in views]), dim=0)) == 40
    with pytest.raises(ConfigError, match="tta.n"):
        tta_views(x, "signal", 41)
    with pytest.raises(ConfigError, match="tta.n"):
        tta_views(x, "signal", 0)


class FlipInvariant(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = torch.nn.Linear(d, 3)

    def forward(self, x):
        return self.linear((x + x.flip(-1)).flatten(1))


def test_predict_tta_of_a_model_blind_to_the_views_is_its_plain_softmax():
    torch.manual_seed(0)
    x = _batch("image", n=10)
    model = FlipInvariant(3 * 8 * 8)
    plain = F.softmax(model(x), 1)
    assert torch.allclose(predict_tta(model, x, 2), plain, atol=1e-6)
    assert not torch.allclose(predict_tta(model, x, 6), plain, atol=1e-3)
    pooled = torch.nn.Sequential(torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(),
                                 torch.nn.Linear(1, 3))
    s = _batch("signal", n=10)
    assert torch.allclose(predict_tta(pooled, s, 9), F.softmax(pooled(s), 1), atol=1e-6)


def test_predict_tta_averages_the_softmax_over_the_views_in_eval_mode_in_chunks():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5),
                                torch.nn.Linear(3 * 8 * 8, 3))
    x = _batch("image", n=10)
    model.eval()
    expected = torch.stack([F.softmax(model(v), 1) for v in tta_views(x, "image", 5)]).mean(0)
    model.train()
    got = predict_tta(model, x, 5, batch_size=3)
    assert model.training
    assert torch.allclose(got, expected, atol=1e-6)
