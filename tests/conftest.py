import os
import sys

import pytest


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


def pytest_terminal_summary(terminalreporter):
    """The bad-input table's count of cases, per section and command, when it ran."""
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", "") and module.__file__.endswith("test_bad_input_table.py"):
            if module.COUNTS:
                terminalreporter.write_line(module.counts_line())
