import pytest

from trainwell.data import load_dataset


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_thread):
    """Every diagnose test runs on one torch thread."""


@pytest.fixture(scope="module")
def digits():
    """A batch of 256 digits and their labels."""
    ds = load_dataset("digits")
    return ds.x_train[:256], ds.y_train[:256]
