"""Imports go down the layers, never up and never round in a circle: every import in the source
(at module level or inside a function; not those under ``if TYPE_CHECKING:``) is read, and
each subpackage imported alone in a fresh interpreter loads nothing above it."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import trainwell

LAYERS = [
    ["errors", "names", "params", "option_types", "_io", "_toml", "_numbers", "_live",
     "run_folder", "run_context", "experiments", "callback_order", "_spec", "_optional"],
    ["data", "models", "init", "optim", "regularize", "regularize._checks", "regularize._random",
     "regularize.dropout", "regularize.dropconnect", "regularize.stochastic_depth", "own_loop"],
    ["loop", "train"],
    ["pretrain", "diagnose", "regularize.penalties", "regularize.early_stopping", "ensemble",
     "transfer", "integrations", "report.pictures", "report.charts", "report.plots",
     "report.plots_lr", "report.plots_ensembles", "report.plots_diagnostics", "report.diagnosis"],
    ["recipe", "sweep", "sweep_variants", "sections", "section_tables", "section_checks",
     "section_training"],
    ["build", "execute", "plan", "transfer.resolve", "recipe_diagnosis", "recipe_pretrain",
     "recipe_lr_find", "data.describe"],
    ["run", "results", "report", "export"],
    ["doctor"],
    ["api", "api_build"],
    ["cli_app"],
    ["cli_lab", "cli_results"],
    ["cli", "__main__"],
]
"""Bottom to top, by module: the longest listed prefix decides (the regularizers that are
model layers sit beside the models, the ones that are trainer callbacks above the trainer;
``transfer.resolve`` reads a source recipe, so it sits above ``recipe``; ``data.describe``
reads a recipe file for ``trainwell data``; the pictures of a diagnosis and of gradient flow
draw only what the diagnose layer measured, so a diagnosis and a recorder can show them). A
module importing from its own package's ``__init__`` (inside a function) is not counted: the
package is loaded before it. ``train`` is the deprecated path of ``loop``."""

SRC = Path(trainwell.__file__).parent


def _level(module: str) -> int:
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        found = [i for i, names in enumerate(LAYERS) if name in names]
        if found:
            return found[0]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _modules() -> dict[str, Path]:
    out = {}
    for f in SRC.rglob("*.py"):
        parts = ["trainwell", *f.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


class _Imports(ast.NodeVisitor):
    """The trainwell modules one module imports (the deepest known module of each name)."""

    def __init__(self, known: dict[str, Path]) -> None:
        self.known, self.found = known, set()

    def _add(self, name: str) -> None:
        while name and name not in self.known:
            name = name.rpartition(".")[0]
        if name and name != "trainwell":
            self.found.add(name)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING":
            for n in node.orelse:
                self.visit(n)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        assert not node.level, "trainwell imports are absolute"
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            self._add(full if full in self.known else node.module or "")


def _graph() -> dict[str, set[str]]:
    known = _modules()
    graph = {}
    for name, path in known.items():
        visitor = _Imports(known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {m for m in visitor.found if not name.startswith(m + ".")} - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_check_sees_a_circle_and_an_upward_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _level("trainwell.recipe") > _level("trainwell.loop.tensorboard")
    assert _level("trainwell.transfer.resolve") > _level("trainwell.recipe") > _level("trainwell.transfer")


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_every_module_has_a_layer_and_imports_only_below_or_beside_it():
    graph = _graph()
    up = {m: sorted(d for d in deps if _level(d) > _level(m)) for m, deps in graph.items()
          if m != "trainwell"}
    assert {m: d for m, d in up.items() if d} == {}


FORKS = """
import importlib, json, os, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
# third-party only, so that every child still imports trainwell from nothing
import numpy, torch, pydantic, rich.console, typer, safetensors.torch, matplotlib.figure
assert not any(m == "trainwell" or m.startswith("trainwell.") for m in sys.modules)
out = {}
for target in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        importlib.import_module(target)
        loaded = sorted(m for m in sys.modules if m.startswith("trainwell."))
        os.write(write, json.dumps(loaded).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"importing {target} failed"
    out[target] = json.loads(text)
print(json.dumps(out))
"""


def _loaded(targets: list[str]) -> dict[str, list[str]]:
    """The trainwell modules each target loads when imported alone: one interpreter imports
    the heavy third-party packages, then forks a child per target that imports it from a clean
    slate."""
    proc = subprocess.run([sys.executable, "-c", FORKS, *targets], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_importing_a_module_loads_nothing_above_its_layer():
    targets = [f"trainwell.{n}" for names in LAYERS for n in names
               if "." not in n and n not in ("__main__", "train")]
    loaded = _loaded(targets)
    above = {t: [m for m in mods if _level(m) > _level(t)] for t, mods in loaded.items()}
    assert {t: ms for t, ms in above.items() if ms} == {}


def test_loop_is_a_leaf():
    loaded = {m.split(".")[1] for m in _loaded(["trainwell.loop"])["trainwell.loop"]}
    assert not loaded & {"diagnose", "pretrain", "run", "execute", "report"}
