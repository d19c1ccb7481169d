"""The diagnose modules import one another without a cycle, and the package's names stay put."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from trainwell.diagnose import diagnosis

diagnose_package = importlib.import_module("trainwell.diagnose")

PACKAGE = Path(diagnose_package.__file__).parent


def imported_siblings(path: Path) -> set[str]:
    """Every ``trainwell.diagnose.<module>`` that ``path`` imports anywhere: at the top, inside a
    function, or under ``TYPE_CHECKING``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                 else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["trainwell", "diagnose"] and len(parts) > 2:
                found.add(parts[2])
    return found


def test_no_module_of_diagnose_imports_itself_back():
    graph = {p.stem: imported_siblings(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert graph["probes"] and graph["verdicts"], "the graph was read"

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = [m for m in graph if reaches(m, m, {m})]
    assert cycles == [], f"import cycle through {cycles}"


def test_the_data_classes_live_below_probes_and_verdicts():
    assert imported_siblings(PACKAGE / "diagnosis.py") == set()
    assert "diagnosis" in imported_siblings(PACKAGE / "probes.py")
    assert "diagnosis" in imported_siblings(PACKAGE / "verdicts.py")


def test_the_public_names_are_unchanged():
    assert diagnose_package.__all__ == [
        "diagnose", "probe", "judge", "Diagnosis", "LayerStats", "Verdict", "VERDICT_KINDS",
        "GradientFlowRecorder", "flow_rows", "Layer", "find_layers", "diagnose_batch",
        "DIAGNOSE_BATCH", "Monitor", "check_stop_on", "LiveVerdict", "SYMPTOMS", "FIXES", "watch",
        "Watch",
    ]
    for name in ("Diagnosis", "LayerStats", "Verdict"):
        assert getattr(diagnose_package, name) is getattr(diagnosis, name)
