import collections
import os
import re
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # Each worker trains on one thread: two workers of two threads each on two cores spin
    # against each other and tiny models train 10-20 times slower. Subprocesses inherit it.
    os.environ.setdefault("TRAINWELL_MAX_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


_SHARED = ("session", "package", "module")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, tests that share an expensive fixture (a module's or a folder's:
    trained runs, a built wheel, a Ray cluster) run on one worker, so it is built once; the
    root conftest's cheap fixtures do not count."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    root = Path(__file__).parent
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        homes = []
        for defs in item._fixtureinfo.name2fixturedefs.values():
            for d in defs:
                if d.scope in _SHARED and d.baseid and Path(d.baseid.split("::")[0]) != Path(
                        root.name) and not d.argname.startswith("_"):
                    homes.append(d.baseid.split("::")[0])
        if homes:
            item.add_marker(pytest.mark.xdist_group(min(homes, key=len)))


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
    """The bad-input table's count of cases that ran, per section and command (also under
    pytest-xdist: read from the reports, not from the workers' memory)."""
    counts: collections.Counter[str] = collections.Counter()
    for report in terminalreporter.stats.get("passed", []):
        found = re.search(r"test_bad_input_table\.py::test_every_(recipe_option|command_flag)"
                          r"\w*\[\[?([a-z_-]+)", report.nodeid)
        if found:
            kind, group = found.groups()
            counts[f"trainwell {group}" if kind == "command_flag" else group] += 1
    if counts:
        per = ", ".join(f"{g} {n}" for g, n in sorted(counts.items()))
        terminalreporter.write_line(f"bad-input table: {sum(counts.values())} cases ({per})")


@pytest.fixture
def importable(tmp_path, monkeypatch):
    """``importable(name, source)`` writes module ``name`` into a temporary folder on
    ``sys.path`` and returns ``name``; the modules are forgotten afterwards."""
    import sys

    folder = tmp_path / "importable"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    names = []

    def write(name, source):
        (folder / f"{name}.py").write_text(source)
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)
