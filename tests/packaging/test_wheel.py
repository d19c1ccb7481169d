"""The sdist and wheel hold everything a run needs, and the wheel works in a fresh venv.

The package is built from a copy of the work tree (sdist, then the wheel from the sdist) and
installed with only its own dependencies into a new virtual environment, after the pinned torch
build. Every command then runs through that environment's binaries, from an unrelated folder and
without PYTHONPATH, so nothing comes from the repository.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "trainwell"
# Wheels fetched from the registries are kept between sessions.
PIP_CACHE = Path(tempfile.gettempdir()) / "trainwell-test-pip-cache"
SKIP_IN_COPY = shutil.ignore_patterns(".git", ".venv", "runs", "build", "dist", "__pycache__",
                                      "*.egg-info", ".pytest_cache", ".mypy_cache", ".ruff_cache")
FAST = ["--set", "data.name=digits", "--set", "train.epochs=1", "--set", "model.depth=1",
        "--set", "model.width=16", "--set", "train.threads=1"]


def _torch_pin() -> str:
    """The torch build the Makefile installs first (``TORCH ?= torch==X``)."""
    found = re.search(r"^TORCH \?= (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert found, "Makefile has no TORCH ?= line"
    return found.group(1)


def _package_files() -> set[str]:
    """Every file of src/trainwell, relative to src (what the wheel must hold)."""
    return {p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _env(**extra: str) -> dict[str, str]:
    """This environment without Python's, trainwell's or a venv's variables."""
    drop = ("PYTHON", "VIRTUAL_ENV", "TRAINWELL", "_TRAINWELL", "_TYPER", "CONDA")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, **extra}


def _run(args: list, *, cwd: Path, env: dict[str, str], timeout: float = 600):
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    command = " ".join(str(a) for a in args)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel built from it, with ``python -m build``."""
    tmp = tmp_path_factory.mktemp("dist")
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=SKIP_IN_COPY)
    _run([sys.executable, "-m", "build", "--outdir", tmp / "out", source], cwd=tmp,
         env=_env(PIP_CACHE_DIR=str(PIP_CACHE)))
    (sdist,) = (tmp / "out").glob("trainwell-*.tar.gz")
    (wheel,) = (tmp / "out").glob("trainwell-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def _version_in_source() -> str:
    found = re.search(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(), re.M)
    assert found, "src/trainwell/__init__.py sets no __version__"
    return found.group(1)


def test_wheel_holds_every_package_file_and_the_metadata(dist):
    version = _version_in_source()
    assert dist["wheel"].name == f"trainwell-{version}-py3-none-any.whl"
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        metadata = whl.read(f"trainwell-{version}.dist-info/METADATA").decode()
        entry_points = whl.read(f"trainwell-{version}.dist-info/entry_points.txt").decode()
    missing = _package_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)}"
    assert {"trainwell/py.typed", "trainwell/report/templates/report.html.j2",
            "trainwell/experiments/init.toml", "trainwell/experiments/sources/mnist5k-0-4.toml"} <= names
    assert "trainwell = trainwell.cli:run" in entry_points
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    assert extras == set(project["optional-dependencies"])
    assert {"ray", "mlflow", "tensorboard", "pandas", "all"} <= extras
    assert re.search(r"^Requires-Python: >=3\.11$", metadata, re.M)
    assert re.search(r"^Requires-Dist: torch>=2\.2$", metadata, re.M)


def test_sdist_holds_the_package_and_the_documents(dist):
    root = dist["sdist"].name.removesuffix(".tar.gz")
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.removeprefix(f"{root}/") for n in tar.getnames()}
    expected = {"pyproject.toml", "README.md", "CHANGELOG.md"}
    expected |= {p.name for p in REPO.glob("LICEN[CS]E*")}
    expected |= {f"src/{f}" for f in _package_files()}
    missing = expected - names
    assert not missing, f"the sdist lacks {sorted(missing)}"


def test_readme_install_section_names_every_user_extra():
    readme = (REPO / "README.md").read_text()
    found = re.search(r"^## Install\n(.*?)^## ", readme, re.M | re.S)
    assert found, "README has no '## Install' section"
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for extra in extras - {"test", "bench"}:
        assert f"trainwell[{extra}]" in found.group(1), extra


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> dict:
    """A new venv with the pinned torch, then the wheel and its dependencies (no extras)."""
    tmp = tmp_path_factory.mktemp("venv")
    env = _env(PIP_CACHE_DIR=str(PIP_CACHE), PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "venv", tmp / "venv"], cwd=tmp, env=env)
    bindir = tmp / "venv" / "bin"
    pip = [bindir / "python", "-m", "pip", "install", "--no-compile", "-q"]
    torch = subprocess.run([*pip, "--no-index", "--no-deps", _torch_pin()], cwd=tmp, env=env,
                           capture_output=True, text=True, timeout=600)
    if torch.returncode != 0:
        pytest.skip(f"{_torch_pin()} cannot be installed without a download here: "
                    f"{torch.stderr.strip().splitlines()[-1:]}")
    _run([*pip, dist["wheel"]], cwd=tmp, env=env)
    _run([bindir / "python", "-m", "pip", "check"], cwd=tmp, env=env)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    run_env = _env(PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                   TRAINWELL_CACHE=str(tmp / "cache"))
    return {"bin": bindir, "cwd": elsewhere, "env": run_env, "root": tmp / "venv"}


def _trainwell(venv, *args: str, **env: str):
    return _run([venv["bin"] / "trainwell", *args], cwd=venv["cwd"], env={**venv["env"], **env})


def test_the_wheel_tests_share_one_worker_under_xdist(request, dist):
    """tests/conftest.py groups the tests of a module-scoped fixture, so one worker builds it."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("runs under pytest-xdist --dist loadgroup")
    assert request.node.nodeid.endswith("@tests/packaging/test_wheel.py")


def test_the_venv_imports_trainwell_and_torch_from_itself(venv):
    code = "import torch, trainwell; print(trainwell.__file__); print(torch.__version__)"
    out = _run([venv["bin"] / "python", "-c", code], cwd=venv["cwd"], env=venv["env"]).stdout
    module, torch_version = out.split()
    assert Path(module).is_relative_to(venv["root"]) and not Path(module).is_relative_to(REPO)
    assert torch_version.split("+")[0] == _torch_pin().split("==")[1]


def test_version(venv):
    assert _trainwell(venv, "--version").stdout.strip() == f"trainwell {_version_in_source()}"


def test_list_names_the_catalogue(venv):
    out = _trainwell(venv, "list").stdout
    for name in ("mnist1d", "digits", "mlp", "he_normal", "lsuv", "adam", "cosine", "swa"):
        assert name in out, name


def test_list_experiments_reads_the_shipped_sweep_files(venv):
    out = _trainwell(venv, "list", "experiments").stdout
    for sweep in (PACKAGE / "experiments").glob("*.toml"):
        assert re.search(rf"│ {sweep.stem}\s+│\s+[1-9]\d* │", out), sweep.stem


def test_compare_help(venv):
    out = _trainwell(venv, "compare", "--help").stdout
    assert "Usage: trainwell compare" in out and "Example: trainwell compare" in out


def test_show_completion(venv):
    out = _trainwell(venv, "--show-completion", "bash",
                     _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1").stdout
    assert "complete -o default -F _trainwell_completion trainwell" in out


def test_one_epoch_on_builtin_data(venv):
    out = _trainwell(venv, "train", *FAST, "--out", "one", "--quiet").stdout
    assert "status: done   epochs: 1" in out
    test_row = re.search(r"│ test\s+│\s+(\d+\.\d+)\s+│\s+(\d+(?:\.\d+)?)", out)
    assert test_row, out
    assert float(test_row.group(1)) > 0
    assert (venv["cwd"] / "one" / "weights.safetensors").is_file()
