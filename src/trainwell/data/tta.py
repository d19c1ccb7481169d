"""Test-time augmentation: average a model's softmax over a fixed set of views of each input.

"Average a fixed set of crops" at test time (CS231n, Training Neural Networks II), as AlexNet
averages its softmax over 10 crops: four corners and the centre, each mirrored (Krizhevsky,
Sutskever & Hinton 2012). Here a view is the whole input, shifted by a few pixels or steps
(and, for images, mirrored), so no crop size needs choosing. The views are fixed and ordered
with the identity first, so ``n = 1`` is the plain prediction and ``n`` views are a prefix
of ``n + 1``. AlexNet's own ten crops are the other choice (``crop``: the fraction of each
side a crop covers; :func:`~trainwell.data.augment_crop.ten_crop_views`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trainwell.data._batched import Kind, input_kind
from trainwell.data.augment_crop import check_crop_size, ten_crop_views
from trainwell.data.augment_image import translate_by
from trainwell.data.augment_signal import shift_by
from trainwell.errors import ConfigError

__all__ = ["tta_views", "predict_tta", "view_plan", "Kind", "input_kind"]


def view_plan(kind: Kind, n: int, sample_shape: tuple[int, ...], *, flip: bool = True
              ) -> list[tuple[bool, int, int]]:
    """The first ``n`` views as ``(mirror, down, right)``; signals use ``right`` only.

    Images: identity, the mirror (unless ``flip=False``), then shifts by 1 pixel right, left,
    down, up, then by 2 pixels in the same order, and so on (reflect padding). Signals:
    identity, then circular shifts by +1, -1, +2, -2, ...; only distinct views are allowed.

    >>> view_plan("image", 4, (1, 8, 8))
    [(False, 0, 0), (True, 0, 0), (False, 0, 1), (False, 0, -1)]
    >>> view_plan("signal", 4, (1, 40))
    [(False, 0, 0), (False, 0, 1), (False, 0, -1), (False, 0, 2)]
    """
    plan: list[tuple[bool, int, int]] = [(False, 0, 0)]
    if kind == "image":
        if flip:
            plan.append((True, 0, 0))
        for d in range(1, min(sample_shape[1:])):
            plan += [(False, 0, d), (False, 0, -d), (False, d, 0), (False, -d, 0)]
    elif kind == "signal":
        length = sample_shape[-1]
        for d in range(1, length // 2 + 1):
            plan += [(False, 0, d)] + ([(False, 0, -d)] if 2 * d < length else [])
    else:
        raise ConfigError("tta.kind", kind, "'image' or 'signal'")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(plan):
        raise ConfigError("tta.n", n, f"an integer in [1, {len(plan)}] for {kind}s shaped "
                                      f"{tuple(sample_shape)}")
    return plan[:n]


def tta_views(x: torch.Tensor, kind: Kind, n: int, *, flip: bool = True) -> list[torch.Tensor]:
    """The first ``n`` fixed views of a batch ``x`` (see :func:`view_plan`), identity first.

    ``flip=False`` leaves out the mirror, for images whose class changes with it (digits).

    >>> x = torch.arange(4.0).view(1, 1, 4)
    >>> [v.flatten().tolist() for v in tta_views(x, "signal", 3)]
    [[0.0, 1.0, 2.0, 3.0], [3.0, 0.0, 1.0, 2.0], [1.0, 2.0, 3.0, 0.0]]
    """
    dims = {"image": 4, "signal": 3}.get(kind)
    if dims is not None and x.dim() != dims:
        raise ValueError(f"tta_views: kind {kind!r} takes a batch with {dims} dimensions; "
                         f"got one shaped {tuple(x.shape)}")
    views = []
    for mirror, down, right in view_plan(kind, n, tuple(x.shape[1:]), flip=flip):
        if mirror:
            views.append(x.flip(-1))
        elif down == right == 0:
            views.append(x)
        elif kind == "image":
            views.append(translate_by(x, down, right, padding="reflect"))
        else:
            views.append(shift_by(x, right, circular=True))
    return views


@torch.no_grad()
def predict_tta(model: torch.nn.Module, x: torch.Tensor, n: int, *, batch_size: int = 4096,
                flip: bool = True, crop: float | None = None) -> torch.Tensor:
    """Class probabilities ``(N, K)``: the mean softmax of ``model`` over ``n`` fixed views.

    :math:`p(y \\mid x) = \\frac1n \\sum_{v=1}^{n} \\mathrm{softmax}(f(T_v x))`, in eval mode
    (the model's mode is restored afterwards, also when it raises), ``batch_size`` inputs at
    a time. ``x`` is ``(N, C, L)`` (signals) or ``(N, C, H, W)`` (images). With ``crop``
    (images only) the views are the ten crops covering that fraction of each side (five
    without ``flip``) and ``n`` must be 1.

    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(40, 3))
    >>> probs = predict_tta(model, torch.randn(5, 1, 40), 4)
    >>> probs.shape, torch.allclose(probs.sum(1), torch.ones(5))
    (torch.Size([5, 3]), True)
    """
    kind = input_kind(tuple(x.shape[1:]))
    if kind is None:
        raise ValueError(f"predict_tta takes (N, C, L) or (N, C, H, W) inputs; got a tensor "
                         f"shaped {tuple(x.shape)}")
    if crop is not None:
        if kind != "image" or n != 1:
            raise ValueError(f"predict_tta: ten crops are views of images, with n = 1; got "
                             f"{kind}s and n = {n}")
        check_crop_size(crop)
    else:
        view_plan(kind, n, tuple(x.shape[1:]), flip=flip)  # bad n fails before any work
    was_training = model.training
    model.eval()
    try:
        chunks = []
        for i in range(0, max(len(x), 1), batch_size):
            chunk = x[i:i + batch_size]
            views = (tta_views(chunk, kind, n, flip=flip) if crop is None
                     else ten_crop_views(chunk, crop, flip=flip))
            total = F.softmax(model(views[0]), dim=1)
            for view in views[1:]:
                total += F.softmax(model(view), dim=1)
            chunks.append(total / len(views))
    finally:
        model.train(was_training)
    return torch.cat(chunks)
