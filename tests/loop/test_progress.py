"""Progress: silent unless stderr is a terminal, drawn on stderr, the same bar for every loop."""

from __future__ import annotations

import io
import sys

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.loop import ProgressBar, fit
from trainwell.loop.progress import Progress, shown
from trainwell.models import mlp


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as in an interactive shell."""

    def isatty(self) -> bool:
        return True


def as_terminal(monkeypatch) -> Terminal:
    """Swap stderr for a terminal; in the test body, since pytest swaps streams after setup."""
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    return stderr


def test_silent_when_stderr_is_not_a_terminal(capsys):
    assert not shown(None) and shown(True) and not shown(False)
    with Progress("rbm", total=3) as bar:
        for epoch in range(3):
            bar.update(completed=epoch + 1, status=f"recon {epoch}")
    assert not bar.enabled and bar.completed == 3
    assert capsys.readouterr() == ("", "")


def test_drawn_on_stderr_with_its_status_and_gone_when_stopped(monkeypatch, capsys):
    terminal = as_terminal(monkeypatch)
    bar = Progress("auto-encoders", total=4).start()
    bar.update(advance=1, status="layer 1 MSE 0.5")
    bar.update(advance=2)
    bar.stop()
    drawn = terminal.getvalue()
    assert "auto-encoders" in drawn and "3/4" in drawn and "layer 1 MSE 0.5" in drawn
    assert capsys.readouterr().out == ""
    bar.update(advance=1)  # a stopped bar only counts
    assert bar.completed == 4 and terminal.getvalue() == drawn


def test_forced_off_in_a_terminal_and_stopped_on_error(monkeypatch, capsys):
    terminal = as_terminal(monkeypatch)
    with Progress("off", total=1, enabled=False) as bar:
        bar.update(advance=1)
    assert terminal.getvalue() == "" and capsys.readouterr() == ("", "")
    with pytest.raises(RuntimeError), Progress("first", total=2):
        raise RuntimeError("boom")
    with Progress("second", total=1) as bar:  # rich refuses two live bars at once
        bar.update(advance=1)
    assert "second" in terminal.getvalue()


def test_the_trainer_bar_shows_epochs_loss_and_accuracy(monkeypatch, one_thread):
    terminal = as_terminal(monkeypatch)
    assert not ProgressBar(enabled=False).enabled
    dataset = load_dataset("digits")
    model = mlp((1, 8, 8), 10, depth=1, width=8)
    fit(model, dataset, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=512,
        callbacks=[ProgressBar(description="digits run")])
    drawn = terminal.getvalue()
    assert "digits run" in drawn and "2/2" in drawn
    assert "loss " in drawn and " acc " in drawn and " val " in drawn
