"""Mixed precision: bf16 and fp16 autocast train like fp32, with float32 weights and metrics."""

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.diagnose import GradientFlowRecorder
from trainwell.loop import fit
from trainwell.loop.precision import Precision
from trainwell.models import build_model

# bf16 keeps 8 bits of mantissa (relative rounding 2**-8 ~ 0.4 %): one step's loss from the
# same weights agrees with fp32's to about that, and two epochs of Adam on digits end within
# a few test points of fp32's (the runs part ways as rounding compounds).
FIRST_LOSS_RTOL = 1e-2
ACC_TOL = 0.04


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _fit(ds, precision, device="cpu", **kw):
    torch.manual_seed(0)
    model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=2,
                        width=64).to(device)
    history = fit(model, ds.to(device), torch.optim.Adam(model.parameters(), lr=3e-3), epochs=3,
                  batch_size=64, generator=torch.Generator().manual_seed(0),
                  precision=precision, **kw)
    return model, history


@pytest.fixture(scope="module")
def fp32_run(digits):
    return _fit(digits, "fp32")


def test_bf16_trains_and_matches_fp32_within_tolerance(digits, fp32_run):
    _, ref = fp32_run
    model, h = _fit(digits, "bf16")
    assert h.status == "done"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert h.step_loss[-1] < 0.5 * h.step_loss[0]
    assert h.step_loss[0] != ref.step_loss[0]  # the forward pass did run in bfloat16
    assert h.step_loss[0] == pytest.approx(ref.step_loss[0], rel=FIRST_LOSS_RTOL)
    assert abs(h.final["test_acc"] - ref.final["test_acc"]) <= ACC_TOL
    assert all(isinstance(v, float) for v in h.step_loss)


def test_fp16_scaler_gives_callbacks_unscaled_gradients(digits):
    """The recorder reads gradients after the scaler has divided them back (on the CPU, torch
    runs fp16 autocast too): step 0's norms match fp32's, not 2**16 times them."""
    recorders = {}
    for precision in ("fp32", "fp16"):
        recorders[precision] = GradientFlowRecorder(every=10)
        _, h = _fit(load_dataset("digits"), precision, callbacks=[recorders[precision]])
        assert h.status == "done"
    pairs = [(a, b) for a, b in zip(recorders["fp32"].records, recorders["fp16"].records,
                                    strict=True) if a["step"] == 0]
    assert len(pairs) == 3  # one per layer
    for a, b in pairs:
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=0.05)


def test_precision_autocasts_only_the_enclosed_forward_pass():
    amp = Precision("bf16", device="cpu")
    layer = torch.nn.Linear(3, 2)
    with amp.autocast():
        inside = layer(torch.ones(1, 3))
    assert inside.dtype == torch.bfloat16 and layer(torch.ones(1, 3)).dtype == torch.float32
    assert Precision("fp32").scaler is None and Precision("bf16").scaler is None
    assert Precision("fp16").state_dict()["scale"] == 2.0 ** 16


def test_unknown_precision_names_the_key():
    with pytest.raises(ValueError, match=r"train.precision = 'fp8'.*fp32, bf16 or fp16"):
        Precision("fp8")


def test_fp16_with_lbfgs_is_refused(digits):
    torch.manual_seed(0)
    model = build_model("linear", input_shape=digits.meta.input_shape, num_classes=10)
    with pytest.raises(ValueError, match="fp16"):
        fit(model, digits, torch.optim.LBFGS(model.parameters()), epochs=1, batch_size=2000,
            precision="fp16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 with a gradient scaler: CUDA only")
def test_fp16_with_scaler_on_cuda_matches_fp32(digits, fp32_run):
    _, ref = fp32_run
    model, h = _fit(digits, "fp16", device="cuda")
    assert h.status == "done" and all(p.dtype == torch.float32 for p in model.parameters())
    assert abs(h.final["test_acc"] - ref.final["test_acc"]) <= ACC_TOL
