"""The top-level API: curated names, loaded on first use; tw.train callable however it is reached."""

import inspect
import subprocess
import sys

from rich.progress import Progress
from rich.table import Table

import trainwell as tw
from trainwell._live import render_cell


def test_import_trainwell_loads_no_library_module():
    code = ("import sys, trainwell as tw; assert 'train' in tw.__all__ and 'Results' in dir(tw); "
            "print(sorted(m for m in sys.modules if m.startswith('trainwell') or m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['trainwell', 'trainwell.errors']"


def test_train_is_the_call_and_the_loop_is_trainwell_loop():
    from trainwell.api import train
    from trainwell.loop import fit

    assert tw.train is train and inspect.isfunction(tw.train)
    assert fit.__module__ == "trainwell.loop.trainer"
    for name in ("compare", "Run", "Results", "open_results", "Recipe", "Sweep"):
        assert name in tw.__all__ and getattr(tw, name) is not None


def test_no_public_name_changes_meaning_when_subpackages_are_imported():
    """``tw.execute`` and ``tw.train`` stay functions after ``import trainwell.execute`` and the
    deprecated ``import trainwell.train``, whatever was imported first."""
    code = """
import importlib, inspect, pkgutil, warnings, trainwell as tw
before = {n: getattr(tw, n) for n in tw.__all__}
warnings.simplefilter("ignore", DeprecationWarning)
for m in pkgutil.walk_packages(tw.__path__, "trainwell."):
    if not m.name.startswith(("trainwell.integrations",)):
        try:
            importlib.import_module(m.name)
        except ImportError as exc:
            if "trainwell" in str(exc):
                raise
after = {n: getattr(tw, n) for n in tw.__all__}
changed = [n for n in tw.__all__ if after[n] is not before[n]]
assert not changed, changed
assert inspect.isfunction(tw.execute) and inspect.isfunction(tw.train), (tw.execute, tw.train)
print(len(before))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(tw.__all__)


def test_the_old_loop_path_still_works_with_a_deprecation_warning():
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "try:\n    from trainwell.train import fit\nexcept DeprecationWarning as e:\n"
            "    print('warned:', e)\n"
            "warnings.simplefilter('ignore')\nfrom trainwell.train import fit\n"
            "from trainwell.train.trainer import fit as fit2\nimport trainwell.loop\n"
            "assert fit is fit2 is trainwell.loop.fit; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "warned: the package trainwell.train is now trainwell.loop" in out.stdout
    assert out.stdout.strip().endswith("ok")


def test_a_cell_gets_escaped_html_and_plain_text_without_control_characters():
    table = Table(title="<script>alert(1)</script>")
    table.add_column("run", style="bold red")
    table.add_row("[x] <b>he</b>")
    bar = Progress()
    bar.add_task("runs", total=4, completed=2)
    for bundle in (render_cell(table), render_cell(bar)):
        assert set(bundle) == {"text/html", "text/plain"}
        assert not any(ch in text for text in bundle.values() for ch in "\x1b\r\b\x07")
    html = render_cell(table)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;he" in html
    assert "color:" in html
    assert "50%" in render_cell(bar)["text/plain"]
