"""docs/notebook.ipynb runs top to bottom in a kernel of this interpreter; its cells show the
progress, the table and the figures, and no control character reaches them."""

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "docs" / "notebook.ipynb"
CONTROL = [chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\x7f"]


def _kernel(folder: Path) -> KernelManager:
    """A kernel of ``sys.executable`` (the venv's), whatever ``python`` is on the PATH."""
    spec = folder / "kernels" / "trainwell-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "trainwell test", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(kernel_name="trainwell-test", kernel_spec_manager=specs)


def _texts(output) -> list[str]:
    if output.output_type == "stream":
        return [output.text]
    data = output.get("data", {})
    return [v for k, v in data.items() if k.startswith("text/") and isinstance(v, str)]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, km=_kernel(folder), timeout=180,
                            resources={"metadata": {"path": str(folder)}})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")  # one thread per run, as the sweep's workers have
        client.execute()
    return nb, folder


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert any("tw.compare(" in c.source for c in code)


def _outputs(nb, start: str) -> list:
    """The outputs of the code cell whose source starts with ``start``."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    return cell.outputs


def test_the_notebook_runs_and_shows_progress_table_and_figures(executed):
    nb, folder = executed
    compare = _outputs(nb, "res = tw.compare(")
    progress = [t for o in compare if o.output_type == "display_data" for t in _texts(o)]
    assert any("runs" in t and "6/6" in t for t in progress), progress
    (result,) = [o for o in compare if o.output_type == "execute_result"]
    html = result.data["text/html"]
    assert "<table>" in html and "he_normal" in html and "zeros" in html
    for source in ("res.plot_loss()", "res.plot_accuracy()"):
        assert any("image/png" in o.get("data", {}) for o in _outputs(nb, source))
    assert any("test acc mean (fraction)" in t for o in _outputs(nb, "res.table()") for t in _texts(o))
    assert (folder / "runs" / "digits-inits" / "report.html").is_file()
    trained = [t for o in _outputs(nb, "run = tw.train(") for t in _texts(o)]
    assert any("train" in t and "5/5" in t for t in trained), trained
    assert any("mlp · he_normal · momentum" in t and "status='done'" in t for t in trained)


def test_no_control_character_reaches_a_cell(executed):
    nb, _ = executed
    texts = [t for c in nb.cells if c.cell_type == "code" for o in c.outputs for t in _texts(o)]
    assert texts
    bad = [(t[:80], [hex(ord(ch)) for ch in CONTROL if ch in t]) for t in texts
           if any(ch in t for ch in CONTROL)]
    assert bad == []
