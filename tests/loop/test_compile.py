"""train.compile: the compiled model computes what the eager one does, its warm-up is timed
apart, steps with hooks run eagerly, and reruns are bit-identical on the CPU."""

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.diagnose import GradientFlowRecorder
from trainwell.loop import fit
from trainwell.loop.compile import CompiledModel
from trainwell.loop.precision import Precision
from trainwell.models import build_model

# float32 outputs of fused inductor kernels differ from eager ones by rounding only.
ATOL = 1e-5


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _model(ds):
    torch.manual_seed(0)
    return build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=2, width=32)


def _fit(ds, compile, callbacks=()):
    model = _model(ds)
    history = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                  epochs=2, batch_size=100, eval_every=0, compile=compile,
                  generator=torch.Generator().manual_seed(0), callbacks=callbacks)
    return model, history


def test_compiled_model_gives_eager_outputs_and_gradients(digits):
    model = _model(digits)
    compiled = CompiledModel(model)
    x, y = digits.x_train[:100], digits.y_train[:100]
    seconds = compiled.warm_up([(x, y)], torch.nn.functional.cross_entropy, Precision())
    assert seconds > 0 and all(p.grad is None for p in model.parameters())
    eager = model(x)
    out = compiled(x)
    torch.testing.assert_close(out, eager, atol=ATOL, rtol=0)
    torch.nn.functional.cross_entropy(out, y).backward()
    compiled_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for g, p in zip(compiled_grads, model.parameters(), strict=True):
        torch.testing.assert_close(g, p.grad, atol=ATOL, rtol=0)


@pytest.mark.slow  # three compiled runs: about 20 s on 2 loaded cores
def test_compiled_training_matches_eager_and_reruns_are_identical(digits):
    eager_model, eager = _fit(digits, False)
    model, h = _fit(digits, True)
    again, h2 = _fit(digits, True)
    assert h.status == "done" and eager.compile is None
    assert h.compile["mode"] is True and h.compile["eager_steps"] == 0
    assert h.compile["warmup_seconds"] > 0
    assert h.step_loss == pytest.approx(eager.step_loss, abs=1e-4)
    assert h.final["test_acc"] == pytest.approx(eager.final["test_acc"], abs=0.01)
    assert list(model.state_dict()) == list(eager_model.state_dict())  # no _orig_mod. prefix
    assert h2.step_loss == h.step_loss
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 again.state_dict().values(), strict=True))


def test_steps_with_hooks_run_eagerly_so_the_recorder_sees_its_layers(digits):
    recorder = GradientFlowRecorder(every=7)
    _, h = _fit(digits, True, callbacks=[recorder])
    steps = sorted({r["step"] for r in recorder.records})
    total = 2 * -(-len(digits.x_train) // 100)
    assert steps == list(range(0, total, 7)) and len(steps) >= 3
    assert h.compile["eager_steps"] == len(steps)
    assert all(r["act_std"] is not None and r["act_std"] > 0 for r in recorder.records)


def test_warm_up_leaves_batch_norm_statistics_and_rng_alone(digits):
    torch.manual_seed(0)
    model = build_model("mlp", input_shape=digits.meta.input_shape, num_classes=10, depth=1,
                        width=16, batch_norm=True, dropout=0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    CompiledModel(model).warm_up([(digits.x_train[:64], digits.y_train[:64])],
                                 torch.nn.functional.cross_entropy, Precision())
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
