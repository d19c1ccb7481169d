import pytest
import torch

from trainwell.data import load_dataset


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny probes run far faster on one thread on a shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def digits():
    """A batch of 256 digits and their labels."""
    ds = load_dataset("digits")
    return ds.x_train[:256], ds.y_train[:256]
