"""The package's names for ``trainwell list`` and its place in the layers."""

import ast
import sys
from pathlib import Path

import trainwell.regularize as reg

PACKAGE = Path(reg.__file__).parent
ALLOWED = ("torch", "trainwell.errors", "trainwell.callback_order", "trainwell.loop",
           "trainwell.regularize")


def test_regularizers_name_every_technique_of_the_lecture_in_one_line():
    assert list(reg.REGULARIZERS) == ["l2", "l1", "dropout", "dropconnect", "batch_norm", "augment",
                                      "stochastic_depth", "fractional_pool", "early_stopping"]
    for name, description in reg.REGULARIZERS.items():
        assert description and "\n" not in description and len(description) < 100, name


def test_every_exported_name_exists():
    assert len(set(reg.__all__)) == len(reg.__all__)
    for name in reg.__all__:
        assert getattr(reg, name) is not None, name


def test_imports_go_only_to_lower_layers():
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "trainwell" and not name.startswith(ALLOWED):
                    bad.append(f"{path.name}: {name}")
                elif top not in ("trainwell", "torch") and top not in sys.stdlib_module_names:
                    bad.append(f"{path.name}: {name}")
    assert bad == []


def test_modules_stay_short():
    assert all(len(p.read_text().splitlines()) < 300 for p in PACKAGE.glob("*.py"))
