"""Every Python example of docs/your-data.md runs as it is, each in a fresh folder, and trains."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "your-data.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_an_example_per_source():
    text = "\n".join(BLOCKS)
    for needle in ('"arrays"', '"images"', '"table"', '"mydata:squares"', "data=(x, y)"):
        assert needle in text


@pytest.mark.slow  # six interpreters that each import torch and train: about a minute
@pytest.mark.parametrize("code", BLOCKS, ids=[f"example{i}" for i in range(len(BLOCKS))])
def test_example_runs_and_trains(code, tmp_path):
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "done" in out.stdout or out.stdout.strip().splitlines()[-1] == "2"
    accuracies = [float(a) for a in re.findall(r"\b(0\.\d+|1\.0)\s*$", out.stdout, flags=re.M)]
    assert all(a > 0.6 for a in accuracies), out.stdout
