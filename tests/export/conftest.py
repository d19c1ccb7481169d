"""One tiny experiment for every export test: two runs on digits, one that trains and one that
diverges, with a schedule (per-step lr), gradient flow every 5 steps and live TensorBoard
logging."""

from pathlib import Path

import pytest

from trainwell.cli import main
from trainwell.run.store import open_store

SWEEP = """
[data]
name = "digits"
[model]
name = "mlp"
depth = 2
width = 16
[optim]
name = "sgd"
lr = [0.1, 1e4]
[schedule]
name = "cosine"
[train]
epochs = 2
batch_size = 128
record_every = 5
log_to = "tensorboard"
"""


@pytest.fixture(scope="session")
def experiment(tmp_path_factory) -> Path:
    """The experiment folder (``tiny``) of a finished ``trainwell compare``."""
    root = tmp_path_factory.mktemp("export")
    (root / "tiny.toml").write_text(SWEEP)
    code = main(["compare", str(root / "tiny.toml"), "--root", str(root / "runs"),
                 "--workers", "2", "--quiet"])
    assert code == 0
    return root / "runs" / "tiny"


@pytest.fixture(scope="session")
def stored(experiment):
    """The experiment's runs and ``{run id: {name: {step: value}}}`` as the store keeps them."""
    with open_store(experiment) as store:
        runs = store.runs("tiny")
        metrics: dict = {r.id: {} for r in runs}
        for run, step, name, value in store.metrics([r.id for r in runs]):
            metrics[run].setdefault(name, {})[step] = value
    assert {r.status for r in runs} == {"done", "diverged"}
    return runs, metrics
