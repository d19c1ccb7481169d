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


def test_train_is_the_call_and_the_training_package():
    import trainwell.train
    from trainwell.api import train
    from trainwell.train import fit

    assert tw.train is trainwell.train and tw.train.fit is fit
    assert callable(tw.train) and inspect.signature(tw.train) == inspect.signature(train)
    for name in ("compare", "Run", "Results", "open_results", "Recipe", "Sweep"):
        assert name in tw.__all__ and getattr(tw, name) is not None


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
