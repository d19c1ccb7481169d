"""The live monitor as a Lightning callback, with a real lightning.Trainer."""

import warnings

import pytest
import torch
from torch import nn

pytest.importorskip("lightning")

import lightning as L  # noqa: E402

from trainwell.integrations.lightning import WatchCallback  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


class _Classifier(L.LightningModule):
    def __init__(self, depth, act, lr):
        super().__init__()
        layers, size = [], 16
        for _ in range(depth):
            layers += [nn.Linear(size, 32), act()]
            size = 32
        self.net = nn.Sequential(*layers, nn.Linear(size, 4))
        self.lr = lr

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _fit(module, callback, epochs=4):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 16, generator=g)
    y = (x @ torch.randn(16, 4, generator=g)).argmax(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64,
                                         shuffle=True, generator=g)
    trainer = L.Trainer(max_epochs=epochs, callbacks=[callback], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", devices=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on workers and logging
        trainer.fit(module, loader)
    return trainer


def test_a_deep_sigmoid_module_is_found_vanishing_by_a_real_trainer(tmp_path):
    torch.manual_seed(0)
    module = _Classifier(10, nn.Sigmoid, lr=0.01)
    for m in module.net:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
    cb = WatchCallback(every=10)
    trainer = _fit(module, cb)
    assert trainer.global_step == 64
    assert [w.step for w in cb.monitor.windows[:3]] == [0, 10, 20]
    vanishing = [v for v in cb.verdicts if v.kind == "vanishing"]
    assert vanishing and vanishing[0].layer == "net.0"
    assert "vanishing" in cb.report(tmp_path / "watch.html").read_text()
    # hooks are gone after training
    assert all(not m._forward_hooks for m in module.modules())


def test_a_healthy_module_gets_no_verdict_and_stop_on_stops_the_trainer():
    torch.manual_seed(0)
    cb = WatchCallback(every=10)
    _fit(_Classifier(2, nn.ReLU, lr=0.1), cb)
    assert cb.verdicts == []
    stopper = WatchCallback(every=5, stop_on=["lr_low"])
    trainer = _fit(_Classifier(2, nn.ReLU, lr=1e-9), stopper, epochs=20)
    assert stopper.verdicts[0].kind == "lr_low"
    assert trainer.global_step < 20 * 16
