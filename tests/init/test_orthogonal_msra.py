"""OrthoNorm-MSRA scaled: orthogonal rows (or columns) whose entries have He's variance
2 / fan_in exactly, for Linear and Conv weights, wide and tall."""

from __future__ import annotations

import pytest
import torch

from trainwell.init import DESCRIPTIONS, INITIALIZERS, fans, lecture_he_, orthogonal_msra_


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(64, 256), (256, 64), (16, 1, 3), (32, 16, 3, 3), (10, 10)])
def test_entries_have_hes_variance_and_the_matrix_stays_orthogonal(shape):
    w = orthogonal_msra_(torch.empty(shape), generator=_gen(1))
    fan_in = fans(w)[0]
    m = w.reshape(shape[0], -1)
    assert w.square().mean().item() == pytest.approx(2 / fan_in, rel=1e-4)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    scale = 2 * max(rows, cols) / fan_in
    assert torch.allclose(gram, scale * torch.eye(min(rows, cols)), atol=1e-4 * scale)


def test_its_variance_is_the_msra_fillers_but_its_directions_are_orthogonal():
    msra = lecture_he_(torch.empty(128, 512), generator=_gen(2))
    ortho = orthogonal_msra_(torch.empty(128, 512), generator=_gen(2))
    assert ortho.var().item() == pytest.approx(msra.var().item(), rel=0.05)
    off = lambda m: (m @ m.T - torch.diag(torch.diag(m @ m.T))).abs().max().item()  # noqa: E731
    assert off(ortho) < 1e-4 < off(msra)


def test_a_generator_makes_it_reproducible_and_bad_shapes_are_refused():
    a = orthogonal_msra_(torch.empty(8, 8), generator=_gen(3))
    assert a.equal(orthogonal_msra_(torch.empty(8, 8), generator=_gen(3)))
    assert not a.equal(orthogonal_msra_(torch.empty(8, 8), generator=_gen(4)))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        orthogonal_msra_(torch.empty(5))
    assert INITIALIZERS["orthogonal_msra"] is orthogonal_msra_
    assert "OrthoNorm-MSRA" in DESCRIPTIONS["orthogonal_msra"]
