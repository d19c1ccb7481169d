"""Data augmentation as batched tensor operations on the device, and test-time augmentation.

Every transform is ``name(x, generator, **options) -> x`` on a whole minibatch: per-sample
random parameters from one ``torch.Generator``, a few tensor ops, no per-sample Python, no
PIL (the style of airbench's ``CifarLoader``). Images are ``(N, C, H, W)``
(:mod:`~trainwell.data.augment_image`), 1-D signals ``(N, C, L)``
(:mod:`~trainwell.data.augment_signal`); :func:`noise` serves both. A recipe names them in
``[augment] transforms``, checked by :func:`check_transforms`; :class:`Augment` applies them
to each training minibatch; :func:`predict_tta` averages predictions over fixed views
(:mod:`~trainwell.data.tta`).

>>> aug = compose([{"name": "shift", "max_shift": 8}, ("noise", {"std": 0.05})], (1, 40))
>>> aug(torch.zeros(16, 1, 40), torch.Generator().manual_seed(0)).shape
torch.Size([16, 1, 40])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import torch
from pydantic import Field

from trainwell import names
from trainwell.callback_order import ORDER
from trainwell.data._batched import input_kind, normal
from trainwell.data.augment_colour import colour_basis, colour_jitter, fancy_pca
from trainwell.data.augment_crop import resized_crop, resized_crop_by, ten_crop_views
from trainwell.data.augment_image import (
    affine,
    affine_by,
    cutout,
    hflip,
    jitter,
    translate,
    translate_by,
)
from trainwell.data.augment_signal import shear, shift, shift_by, stretch, stretch_by
from trainwell.data.tta import predict_tta, tta_views
from trainwell.errors import ConfigError
from trainwell.params import validate_params

if TYPE_CHECKING:
    from trainwell.loop.events import TrainState

__all__ = [
    "TRANSFORMS", "TRANSFORM_DESCRIPTIONS", "Transform", "Augment", "check_transforms", "compose",
    "hflip", "translate", "translate_by", "affine", "affine_by", "cutout", "jitter", "noise",
    "resized_crop", "resized_crop_by", "ten_crop_views", "colour_jitter", "fancy_pca",
    "colour_basis",
    "shift", "shift_by", "stretch", "stretch_by", "shear", "tta_views", "predict_tta",
]

_FORMS = {"image": "images (C, H, W)", "signal": "1-D signals (C, L)"}


def noise(x: torch.Tensor, generator: torch.Generator | None = None, *,
          std: Annotated[float, Field(ge=0)] = 0.05) -> torch.Tensor:
    """Add independent Gaussian noise to every value of a batch of images or signals.

    :math:`x' = x + \\sigma z`, :math:`z \\sim N(0, 1)` elementwise, :math:`\\sigma` = ``std``.

    **Note:** unlike the other transforms this draws a whole batch of numbers; keep the
    generator on the data's device (:class:`Augment` does when it makes one), or they are
    copied there every step.

    Reference: MNIST-1D's generator adds iid noise of scale 0.02 (Greydanus & Kobak 2020);
    Bishop, "Training with Noise is Equivalent to Tikhonov Regularization", 1995.

    >>> noise(torch.zeros(2, 1, 4), torch.Generator().manual_seed(0), std=0.0)
    tensor([[[0., 0., 0., 0.]],
    <BLANKLINE>
            [[0., 0., 0., 0.]]])
    """
    if x.dim() not in (3, 4) or not x.is_floating_point():
        raise ValueError(f"noise works on float batches (N, C, L) or (N, C, H, W); got a "
                         f"{x.dtype} tensor shaped {tuple(x.shape)}")
    return torch.add(x, normal(tuple(x.shape), generator, x.device, x.dtype), alpha=std)


@dataclass(frozen=True)
class Transform:
    """A registered transform: its function, the inputs it takes (``"image"``, ``"signal"``),
    one line for ``trainwell list``, the option whose largest value depends on the data's
    shape (with that bound as a function of the per-sample shape), the number of channels it
    needs (3 for colour), and ``fit``: what it takes from the training inputs, computed once
    and passed to ``fn`` as keyword arguments besides the recipe's options."""

    fn: Callable[..., torch.Tensor]
    kinds: tuple[str, ...]
    description: str
    limit: tuple[str, Callable[[tuple[int, ...]], int]] | None = None
    channels: int | None = None
    fit: Callable[[torch.Tensor], dict[str, Any]] | None = None


TRANSFORMS: dict[str, Transform] = {
    "hflip": Transform(hflip, ("image",), "mirror left-right with probability p (AlexNet, airbench)"),
    "translate": Transform(translate, ("image",),
                           "shift by up to `pixels` on each axis (pad and random crop)",
                           ("pixels", lambda s: min(s[1:]) - 1)),
    "affine": Transform(affine, ("image",), "rotate by up to ±degrees and zoom by 1 ± scale"),
    "cutout": Transform(cutout, ("image",), "zero a size x size square (DeVries & Taylor 2017)",
                        ("size", lambda s: min(s[1:]))),
    "jitter": Transform(jitter, ("image",), "random brightness offset and contrast factor"),
    "resized_crop": Transform(resized_crop, ("image",),
                              "crop a random area (scale) and aspect (ratio), resize to H x W"),
    "colour_jitter": Transform(colour_jitter, ("image",),
                               "random brightness, contrast and saturation of RGB images",
                               channels=3),
    "fancy_pca": Transform(fancy_pca, ("image",),
                           "add random multiples of the training set's principal RGB axes "
                           "(AlexNet's PCA colour augmentation)", channels=3,
                           fit=lambda x: {"basis": colour_basis(x)}),
    "noise": Transform(noise, ("image", "signal"), "add Gaussian noise of standard deviation std"),
    "shift": Transform(shift, ("signal",),
                       "shift in time by up to max_shift steps, circular or zero-filled",
                       ("max_shift", lambda s: s[-1] - 1)),
    "stretch": Transform(stretch, ("signal",), "stretch in time by 1 + scale (U - 0.5) (MNIST-1D)"),
    "shear": Transform(shear, ("signal",), "add a random linear ramp (MNIST-1D's shear)"),
}

TRANSFORM_DESCRIPTIONS: dict[str, str] = {
    name: f"{t.description} [{', '.join(t.kinds)}]" for name, t in TRANSFORMS.items()
}


def check_transforms(specs: Iterable[Any], input_shape: Sequence[int] | None = None
                     ) -> list[tuple[str, dict[str, Any]]]:
    """Validate a list of transforms and return ``[(name, options with defaults), ...]``.

    Each item is ``{"name": ..., **options}`` (a recipe's ``[augment] transforms``),
    ``(name, options)`` or a bare name. Unknown names raise a ConfigError at
    ``augment.transforms``, bad options at ``augment.<name>.<option>``. With ``input_shape``
    (per sample: ``(C, L)`` or ``(C, H, W)``) a transform for the other kind of input, or an
    option too large for the data (a cutout larger than the image), raises too.

    >>> check_transforms([{"name": "cutout", "size": 8}])
    [('cutout', {'size': 8})]
    >>> check_transforms(["hflip"], (1, 40))
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: augment.transforms = 'hflip': expected a transform for 1-D
    signals (C, L): one of noise, shear, shift, stretch ('hflip' works on images ...)
    """
    if isinstance(specs, (str, Mapping)) or not isinstance(specs, Iterable):
        raise ConfigError("augment.transforms", specs,
                          'a list of transforms, e.g. [{name = "shift", max_shift = 8}]')
    shape = None if input_shape is None else tuple(int(s) for s in input_shape)
    checked = []
    for spec in specs:
        name, options = _split(spec)
        transform = names.get(TRANSFORMS, name, key="augment.transforms")
        values = validate_params(transform.fn, options, key=f"augment.{name}")
        if shape is not None:
            _check_fits(name, transform, values, shape)
        checked.append((name, values))
    return checked


def compose(specs: Iterable[Any], input_shape: Sequence[int], *,
            train_inputs: torch.Tensor | None = None
            ) -> Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]:
    """One function ``(x, generator) -> x`` that applies ``specs`` in order, checked once
    against the per-sample ``input_shape`` by :func:`check_transforms`.

    A transform that learns from the data (``fancy_pca``'s colour axes) learns once, from
    ``train_inputs`` (without them, from each batch it is given).
    """
    steps = []
    for name, options in check_transforms(specs, input_shape):
        transform = TRANSFORMS[name]
        learned = ({} if transform.fit is None or train_inputs is None
                   else transform.fit(train_inputs))
        steps.append((transform.fn, {**options, **learned}))

    def apply(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for fn, options in steps:
            x = fn(x, generator, **options)
        return x

    return apply


class Augment:
    """A trainer callback that replaces each training minibatch by an augmented copy.

    ``specs`` as for :func:`check_transforms` (checked at once; against the data's shape at
    ``before_fit``). In ``before_step`` the batch ``state.xb`` becomes the transformed batch;
    labels, validation and test data are never touched. Draws come from ``generator`` (the
    caller seeds it, e.g. from the run's seed); without one, each fit makes a fresh generator
    on the data's device seeded with ``seed``, independent of torch's global seed. A transform
    that learns from the data (``fancy_pca``'s colour axes) learns from ``x_train`` at
    ``before_fit``.

    **Note:** it implements the :class:`~trainwell.loop.events.Callback` protocol without
    subclassing it, so ``trainwell.data`` imports nothing from ``trainwell.loop`` (a layer
    above it). ``ORDER["augment"]``: it runs before the other ``before_step`` callbacks, so they
    see the augmented batch.

    >>> aug = Augment([{"name": "shift", "max_shift": 8}, {"name": "noise", "std": 0.05}])
    >>> aug.specs
    [('shift', {'max_shift': 8, 'circular': True}), ('noise', {'std': 0.05})]
    """

    order = ORDER["augment"]

    def __init__(self, specs: Iterable[Any], *, generator: torch.Generator | None = None,
                 seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ConfigError("augment.seed", seed, "an integer in [0, 2**63)")
        self.specs = check_transforms(specs)
        self.generator, self.seed = generator, seed
        self._apply: Callable[[torch.Tensor, torch.Generator | None], torch.Tensor] | None = None
        self._generator = generator

    def before_fit(self, state: TrainState) -> None:
        x = state.dataset.x_train
        # stored rows are decoded into memory only for a transform that learns from them
        learns = any(TRANSFORMS[name].fit is not None for name, _ in self.specs)
        inputs = state.dataset.decode(x) if learns else None
        self._apply = compose(self.specs, tuple(x.shape[1:]), train_inputs=inputs)
        self._generator = self.generator
        if self._generator is None:
            self._generator = torch.Generator(device=state.dataset.device).manual_seed(self.seed)

    def state_dict(self) -> dict[str, Any]:
        """The state of the generator it draws from (a CPU byte tensor), for a checkpoint."""
        return {"generator": None if self._generator is None else self._generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["generator"] is not None:
            if self._generator is None:
                raise RuntimeError("Augment.load_state_dict before before_fit: pass it to fit()")
            self._generator.set_state(state["generator"])

    def before_step(self, state: TrainState) -> None:
        if self._apply is None:
            raise RuntimeError("Augment.before_step before before_fit: pass it to fit()")
        if state.xb is not None:
            state.xb = self._apply(state.xb, self._generator)


def _split(spec: Any) -> tuple[Any, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping) and "name" in spec:
        return spec["name"], {k: v for k, v in spec.items() if k != "name"}
    if (isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], Mapping)):
        return spec[0], dict(spec[1])
    raise ConfigError("augment.transforms", spec,
                      'a transform: {name = "shift", max_shift = 8}, ("shift", {...}) or a name')


def _check_fits(name: str, transform: Transform, options: dict[str, Any],
                shape: tuple[int, ...]) -> None:
    kind = input_kind(shape)
    if kind is None:
        raise ConfigError("augment.transforms", name,
                          f"data shaped (C, L) or (C, H, W) per sample; this data's samples are "
                          f"shaped {shape}, which no transform takes")
    if kind not in transform.kinds:
        fitting = ", ".join(sorted(n for n, t in TRANSFORMS.items() if kind in t.kinds))
        works_on = " or ".join(_FORMS[k] for k in transform.kinds)
        raise ConfigError("augment.transforms", name,
                          f"a transform for {_FORMS[kind]}: one of {fitting} ({name!r} works on "
                          f"{works_on} only; the data's samples are shaped {shape})")
    if transform.channels is not None and shape[0] != transform.channels:
        raise ConfigError("augment.transforms", name,
                          f"a transform for {shape[0]}-channel images ({name!r} needs "
                          f"{transform.channels} channels, RGB; the data's samples are shaped "
                          f"{shape})")
    if transform.limit is not None:
        option, bound = transform.limit
        largest = bound(shape)
        if options[option] > largest:
            raise ConfigError(f"augment.{name}.{option}", options[option],
                              f"an integer <= {largest} for samples shaped {shape}")
