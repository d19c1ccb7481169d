# make demo: set up .venv and run the main job on built-in data.
# make test: set up .venv, run the static checks (make lint), then the whole test suite and
# the docstring examples of src/.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: setup demo lint test test-slow bench docs dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, from its pinned build, so nothing later pulls another torch; Lightning (the live
# monitor's callback, tested with a real Trainer) after it, so it keeps that torch.
setup: $(BIN)/python
	$(PIP) install $(TORCH)
	$(PIP) install -e '.[test,all]'
	$(PIP) install -e '.[lightning]'

demo: setup
	$(BIN)/trainwell compare

# The README's and docs/'s tables and pictures: the main job and the studies, then their
# figures (PNG) and tables (markdown) into docs/.
docs: setup
	$(BIN)/trainwell compare --quiet
	$(BIN)/trainwell compare studies/optimizers_lr.toml --quiet
	$(BIN)/python studies/optimizers_pick.py runs/optimizers-lr --write studies/optimizers.toml --docs docs
	$(BIN)/trainwell compare studies/optimizers.toml --quiet
	$(BIN)/trainwell compare studies/pretraining.toml --quiet
	$(BIN)/trainwell compare studies/pretraining_full.toml --quiet
	$(BIN)/trainwell compare regularize --quiet
	$(BIN)/trainwell compare ensembles --quiet
	$(BIN)/trainwell compare transfer --quiet
	$(BIN)/trainwell compare augment_colour --quiet
	$(BIN)/trainwell compare studies/mnist1d_baselines.toml --quiet
	$(BIN)/trainwell compare studies/lab10_ladder.toml --quiet
	$(BIN)/trainwell compare studies/deep_relu.toml --quiet
	$(BIN)/trainwell compare studies/deep_relu_converge.toml --quiet
	$(BIN)/trainwell compare studies/lsuv_table.toml --quiet
	@for e in init optimizers pretraining pretraining-full regularize ensembles transfer augment-colour mnist1d-baselines lab10-ladder deep_relu deep_relu_converge lsuv_table; do $(BIN)/trainwell report runs/$$e --figures docs || exit 1; done
	$(BIN)/python studies/optimizers_pick.py runs/optimizers --first-steps --docs docs
	$(BIN)/python studies/regularize_pick.py runs/regularize --docs docs
	$(BIN)/python benchmarks/bench_mnist1d.py --write docs/mnist1d-fast.md
	$(BIN)/python benchmarks/bench_mnist1d.py --ablation --write docs/mnist1d-fast.md
	$(BIN)/trainwell playground --surface taco --optim sgd,momentum,nesterov,adagrad,rmsprop,adam --out docs/playground

# Static checks: ruff (style, import order, likely bugs) on the package, its tests, the
# benchmarks and the studies' scripts, and mypy (types) on the package; their settings are in
# pyproject.toml.
lint: setup
	$(BIN)/ruff check src tests benchmarks studies
	$(BIN)/mypy src

# On every core (pytest-xdist); the Ray tests share one worker and its Ray instance.
test: lint
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

# The sdist and the wheel, into dist/ (tests/packaging/test_wheel.py installs the wheel into a
# fresh venv).
dist: setup
	rm -rf dist
	$(BIN)/python -m build --outdir dist

test-slow: setup
	$(BIN)/python -m pytest -q -n auto --dist loadgroup -m slow

bench: setup
	$(PIP) install -e '.[bench]'
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) runs dist .pytest_cache
