import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # Each worker trains on one thread: two workers of two threads each on two cores spin
    # against each other and tiny models train 10-20 times slower. Subprocesses inherit it.
    os.environ.setdefault("TRAINWELL_MAX_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    """Generated datasets go to one folder per test session, never the user's cache."""
    old = os.environ.get("TRAINWELL_CACHE")
    os.environ["TRAINWELL_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("TRAINWELL_CACHE", None)
    else:
        os.environ["TRAINWELL_CACHE"] = old


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models train far faster on one torch thread on a shared 2-core machine."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
