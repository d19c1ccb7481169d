"""trainwell from Python: :func:`train` and :func:`compare`, the library calls behind
``trainwell train`` and ``trainwell compare``. The commands parse their arguments and call
these, so both check the same things and say the same: bad input raises
:class:`~trainwell.errors.ConfigError` naming the key, the value and what is allowed, before
anything is written.

**Overrides.** A recipe value is set by a keyword argument named after its key, with ``__``
for each dot: ``optim__lr=0.1`` sets ``optim.lr``, ``train__epochs=5`` sets ``train.epochs``.
``set=`` takes the same as a mapping of dotted keys (``set={"optim.lr": 0.1}``) or as the
command line's ``key.path=value`` strings (``set=["optim.lr=0.1"]``, read as TOML). A keyword
without ``__``, a dotted keyword, a ``__`` key in ``set=`` and one key given both ways are
errors. In a mapping and in the keywords a section's ``name`` goes first, so
``optim__lr=0.1, optim__name="sgd"`` is SGD at 0.1 (the command line applies ``--set`` in
order, where a new name drops the options set before it). Overrides fix a value for every
run of a comparison; axes vary it.

**Your data.** ``data=`` hands over data from Python: ``(x, y)`` arrays or tensors, a dict of
splits ``{"train": (x, y), "test": (x, y)}``, a ``torch.utils.data.Dataset`` (or one per
split), or a pandas DataFrame with ``target=`` its label column. It is written once to the
cache folder, named by its digest, and the recipe's ``[data]`` reads it from there (the
options every source shares, such as ``data.val_fraction``, are kept), so every backend runs
it and the run id depends on the data. In :func:`compare`, ``data=`` given names (a string or
a list of them) is the data axis instead.

**Axes** (:func:`compare`). ``init``, ``activation``, ``optim``, ``model``, ``data``, ``lr``
and ``schedule`` take a list (``init=["he_normal", "glorot_normal"]``), a single value, or the
command line's comma string (``"he_normal,glorot_normal"``); ``axis`` any recipe key:
``axis={"optim.momentum": [0.5, 0.9]}`` (or ``["optim.momentum=0.5,0.9"]``).

>>> import trainwell as tw
>>> tw.train(optim__lr=-1)
Traceback (most recent call last):
...
trainwell.errors.ConfigError: optim.lr = -1: expected greater than 0
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell import _toml
from trainwell.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from rich.console import Console

    from trainwell.recipe import Recipe
    from trainwell.results import Results
    from trainwell.run_result import Run
    from trainwell.sweep import Sweep

__all__ = ["train", "compare", "build_sweep", "build_recipe", "overrides_of", "FLAG_AXES"]

FLAG_AXES = {"init": "init.name", "activation": "model.activation", "optim": "optim.name",
             "model": "model.name", "data": "data.name", "lr": "optim.lr",
             "schedule": "schedule.name"}
"""The axes with a parameter of their own: parameter -> recipe key."""

OverridesArg = Mapping[str, Any] | Sequence[str] | str | None


def train(recipe: str | Path | Recipe | Mapping[str, Any] | None = None, *,
          data: Any = None, target: str | None = None,
          set: OverridesArg = None, out: str | Path | None = None, resume: bool = False,
          quiet: bool = False, console: Console | None = None, **overrides: Any) -> Run:
    """Train one recipe (a file, a :class:`~trainwell.recipe.Recipe`, a dict; default: the
    default recipe) with overrides, and return the :class:`~trainwell.run_result.Run`.

    ``out``: write the run there as ``trainwell train --out`` does (recipe.toml, history.json,
    weights and predictions; checkpoints/ with ``train.checkpoint_every``); ``resume``
    continues from the last good checkpoint in ``out/checkpoints``. A run that diverges or
    fails is returned (``run.status``), not raised. Messages (resuming, a transfer source
    trained first) go to ``console`` (default: stdout; none when ``quiet``), the progress bar
    to the terminal or the notebook cell unless ``quiet``. ``data`` (and ``target``): your
    data from Python (see the module doc).

    >>> run = train(data__name="digits", train__epochs=1, quiet=True)  # doctest: +SKIP
    >>> run = train(data=(x, y), train__epochs=5)  # doctest: +SKIP
    """
    from trainwell.execute import check_runnable, execute, prepare_data, resume_point
    from trainwell.loop import ProgressBar, resolve_device, save_run
    from trainwell.run_result import Run

    r = build_recipe(recipe, overrides_of(set, overrides, "train"), data=_given_data(data, target))
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ConfigError("--resume", True, "--out DIR with it: the checkpoints are in DIR/checkpoints")
    if r.train.log_to is not None and out is None:
        raise ConfigError("train.log_to", r.train.log_to,
                          "--out DIR with it: the events go to DIR/tensorboard")
    device = resolve_device(r.train.device)
    dataset = prepare_data(r, device)
    check_runnable(r, dataset)
    if console is None and not quiet:
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=True)
    checkpoints = out / "checkpoints" if out is not None else None
    if resume and checkpoints is not None:
        found = resume_point(r, checkpoints)
        _say(console, f"resuming from {found.path} (epoch {found.epoch} of {r.train.epochs})"
             if found else f"no good checkpoint in {checkpoints}: training from scratch")
        if found is not None and found.skipped:
            _say(console, str(found.fallback_note()))
    elif r.train.checkpoint_every is None:
        checkpoints = None
    source = None
    if r.transfer.source is not None:
        from trainwell.recipe_tools import train_source

        if isinstance(r.transfer.source, dict):
            _say(console, "the transfer source first"
                 + (f" (kept in {out / 'source'})" if out is not None else ""))
        source = train_source(r, out / "source" if out is not None else None)
    callbacks = [ProgressBar(description=r.name or "train", enabled=False if quiet else None)]
    result = execute(r, callbacks=callbacks, dataset=dataset, checkpoint_dir=checkpoints,
                     resume=resume, source=source, keep_model=True,
                     log_dir=out / "tensorboard" if out is not None and r.train.log_to else None)
    written = []
    if out is not None:
        done = result.status == "done"
        written = save_run(out, recipe_toml=r.to_toml(), history=result.history,
                           weights=result.weights if done else None,
                           artifacts=result.artifacts if done else None)
    return Run(result, folder=out, written=list(written))


def compare(sweep: str | Path | Sweep | Recipe | Mapping[str, Any] | None = None, *,
            init: Any = None, activation: Any = None, optim: Any = None, model: Any = None,
            data: Any = None, lr: Any = None, schedule: Any = None, target: str | None = None,
            axis: Mapping[str, Any] | Sequence[str] | str | None = None,
            seeds: int | None = None, set: OverridesArg = None, backend: str = "local",
            workers: int | None = None, runs_per_gpu: int = 1, address: str | None = None,
            cpus_per_run: float = 1.0, gpus_per_run: float = 0.0, retries: int = 2,
            root: str | Path = "runs", name: str | None = None, quiet: bool = False,
            **overrides: Any) -> Results:
    """Run a grid of recipes side by side into ``root/<experiment>/``, write its report.html,
    and return its :class:`~trainwell.results.Results` (in a notebook: the results table).

    ``sweep`` is a sweep file, a built-in experiment's name (default: ``init``), a
    :class:`~trainwell.sweep.Sweep`, a :class:`~trainwell.recipe.Recipe` or a dict as a sweep
    file holds it. Axes and overrides as in the module doc; ``seeds`` runs per grid point;
    ``backend`` ``local`` (``workers`` processes, ``runs_per_gpu``) or ``ray`` (``address``,
    ``cpus_per_run``, ``gpus_per_run``); ``retries`` for a run whose worker died; ``name`` the
    experiment (default: the sweep's). Runs already finished in that folder are kept, not run
    again. Failed runs are results (``results.outcome.failed``), and so is a Ctrl-C: the runs
    finished by then are kept and shown (``results.outcome.interrupted``). ``data`` given as
    names is the data axis; as arrays, tensors, Datasets or a DataFrame (with ``target``), it is
    your data for every run (see the module doc).

    >>> res = compare(init=["he_normal", "zeros"], data__name="digits")  # doctest: +SKIP
    >>> res = compare(init=["he_normal", "zeros"], data=(x, y))  # doctest: +SKIP
    """
    from trainwell.report.html import write_report
    from trainwell.results import Results
    from trainwell.run import make_backend, open_store, run_sweep

    given = None
    from trainwell.data.memory import names_data

    if not names_data(data):
        given, data = _given_data(data, target), None
    elif target is not None:
        raise ConfigError("target", target, "no value: target= names a DataFrame's label column")
    s = build_sweep(sweep, init=init, activation=activation, optim=optim, model=model, data=data,
                    lr=lr, schedule=schedule, axis=axis, seeds=seeds, name=name,
                    overrides=overrides_of(set, overrides, "compare"))
    if given is not None:
        s = _sweep_with_data(s, given)
    if retries < 0:
        raise ConfigError("--retries", retries, "a whole number >= 0")
    from trainwell.data.resolve import check_sources

    check_sources((r.data.name, r.data.options) for _, _, r in s.recipes())
    runner = make_backend(backend, workers=workers, runs_per_gpu=runs_per_gpu, address=address,
                          cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    outcome = run_sweep(s, root=root, backend=runner, retries=retries, quiet=quiet)
    write_report(outcome.folder, experiment=outcome.experiment)
    return Results(open_store(outcome.folder), outcome.experiment, outcome=outcome)


def build_sweep(source: Any = None, *, axis: Mapping[str, Any] | Sequence[str] | str | None = None,
                seeds: int | None = None, name: str | None = None,
                overrides: Sequence[str] = (), **flags: Any) -> Sweep:
    """The sweep :func:`compare` runs: ``source`` with the axes of ``flags`` (the parameters of
    :data:`FLAG_AXES`) and ``axis``, ``seeds`` and ``key.path=value`` ``overrides``."""
    s = _sweep_source(source, name)
    if name is not None:
        s = dataclasses.replace(s, experiment=name)
    for flag, values in flags.items():
        if flag not in FLAG_AXES:
            raise ConfigError(flag, values, f"an axis among {', '.join(FLAG_AXES)}"
                              f"{did_you_mean(flag, FLAG_AXES)}")
        if values is not None:
            s = s.with_axis(FLAG_AXES[flag], _axis_values(flag, values))
    for key, values in _axis_items(axis):
        s = s.with_axis(key, _axis_values(key, values))
    if seeds is not None:
        s = s.with_seeds(seeds)
    if overrides:
        s = s.with_overrides(list(overrides))
    return s


def build_recipe(source: Any = None, overrides: Sequence[str] = (),
                 data: Mapping[str, Any] | None = None) -> Recipe:
    """The recipe :func:`train` runs: ``source`` (a file, a Recipe, a dict or ``None``) with
    ``key.path=value`` ``overrides``; ``data``, a ``[data]`` section from
    :func:`~trainwell.data.data_section`, replaces the source's data."""
    from trainwell.recipe import Recipe, apply_overrides, load_recipe

    if data is not None:
        if isinstance(source, (str, Path)):
            from trainwell.sweep import anchor_paths

            raw = anchor_paths(_toml.read(source, what="recipe file"), Path(source).parent)
        elif isinstance(source, Recipe):
            raw = source.to_dict()
        elif source is None or isinstance(source, Mapping):
            raw = dict(source or {})
        else:
            raise ConfigError("recipe", source, "a recipe file, a Recipe or a dict of its sections")
        from trainwell.data.memory import replace_data

        return Recipe.from_dict(apply_overrides(replace_data(raw, data), overrides))
    if source is None or isinstance(source, (str, Path)):
        return load_recipe(source, overrides)
    if isinstance(source, Recipe):
        return source.replace(overrides)
    if isinstance(source, Mapping):
        return Recipe.from_dict(apply_overrides(source, overrides))
    raise ConfigError("recipe", source, "a recipe file, a Recipe or a dict of its sections")


def overrides_of(given: OverridesArg, keywords: Mapping[str, Any], command: str) -> list[str]:
    """``set=`` and the keyword overrides of ``command`` (``train`` or ``compare``) as the
    command line's ``key.path=value`` strings (see the module doc).

    >>> overrides_of({"optim.lr": 0.1}, {"optim__name": "sgd"}, "train")
    ['optim.name="sgd"', 'optim.lr=0.1']
    """
    from trainwell.recipe import parse_override

    texts: list[str] = []
    pairs: list[tuple[str, Any]] = []
    if isinstance(given, str):
        texts = [given]
    elif isinstance(given, Mapping):
        for key, value in given.items():
            if not isinstance(key, str) or "__" in key or not all(key.split(".")):
                raise ConfigError("set", key, 'dotted keys: set={"optim.lr": 0.1} (the keyword '
                                  "form is optim__lr=0.1)")
            pairs.append((key, value))
    elif isinstance(given, Sequence) and all(isinstance(t, str) for t in given):
        texts = list(given)
    elif given is not None:
        raise ConfigError("set", given, 'a mapping {"optim.lr": 0.1} or key.path=value strings')
    for word, value in keywords.items():
        key = word.replace("__", ".")
        if "__" not in word or "." in word or not all(key.split(".")):
            function: Callable[..., Any] = train if command == "train" else compare
            params = [p for p in inspect.signature(function).parameters
                      if p not in ("overrides", "set")]
            hint = (f"; {FLAG_AXES[word].replace('.', '__')}= sets {FLAG_AXES[word]}"
                    if word in FLAG_AXES else did_you_mean(word, params))
            raise ConfigError(word, value, f"a parameter of {command}() or an override "
                              f"section__option=value (optim__lr=0.1 sets optim.lr){hint}")
        pairs.append((key, value))
    seen = {".".join(parse_override(t)[0]) for t in texts} if pairs else set()
    for key, value in pairs:
        if key in seen:
            raise ConfigError(key, value, f"one value: {key} is given twice (in set= and as "
                              f"{key.replace('.', '__')}=)")
        seen.add(key)
    pairs.sort(key=lambda kv: not (kv[0].count(".") == 1 and kv[0].endswith(".name")))
    return texts + [f"{key}={_toml_text(key, value)}" for key, value in pairs]


def _toml_text(key: str, value: Any) -> str:
    try:
        return _toml.inline(value)
    except TypeError:
        raise ConfigError(key, value, "a number, string, boolean, list or dict") from None


def _sweep_source(source: Any, name: str | None) -> Sweep:
    from trainwell.experiments import EXPERIMENTS, experiment_path
    from trainwell.recipe import Recipe
    from trainwell.sweep import Sweep, load_sweep

    if source is None:
        return load_sweep(experiment_path("init"), default_experiment=name)
    if isinstance(source, Sweep):
        return source
    if isinstance(source, Recipe):
        return Sweep(name or "default", source.to_dict())
    if isinstance(source, Mapping):
        return Sweep.from_dict(source, experiment=name or "default")
    if isinstance(source, Path):
        return load_sweep(source, default_experiment=name)
    if isinstance(source, str):
        if Path(source).is_file() or source not in EXPERIMENTS:
            return load_sweep(source, default_experiment=name)
        return load_sweep(experiment_path(source), default_experiment=name)
    raise ConfigError("sweep", source, f"a sweep file, a built-in experiment "
                      f"({', '.join(EXPERIMENTS)}), a Sweep, a Recipe or a dict")


def _axis_items(axis: Mapping[str, Any] | Sequence[str] | str | None) -> list[tuple[str, Any]]:
    """``axis`` as (key, values) pairs: from a mapping, or from ``key.path=v1,v2`` strings."""
    if axis is None:
        return []
    if isinstance(axis, Mapping):
        return list(axis.items())
    items = []
    for item in [axis] if isinstance(axis, str) else axis:
        key, sep, text = str(item).partition("=")
        if not isinstance(item, str) or not sep or not key.strip():
            raise ConfigError("--axis", item, "key.path=v1,v2,...")
        items.append((key.strip(), text))
    return items


def _axis_values(key: str, values: Any) -> list[Any]:
    """An axis's values: a list as it is, one value as a list of one, and the command line's
    comma string read as TOML values (``"0.1,0.01"`` -> ``[0.1, 0.01]``)."""
    from trainwell.recipe import parse_override

    if isinstance(values, str):
        return [parse_override(f"v={v.strip()}")[1] for v in values.split(",") if v.strip()]
    if isinstance(values, (list, tuple)):
        return list(values)
    if isinstance(values, (int, float, Mapping)):
        return [values]
    raise ConfigError(key, values, "a list of values, one value, or a comma-separated string")


def _given_data(data: Any, target: str | None) -> dict[str, Any] | None:
    """The ``[data]`` section that reads ``data`` (None: no data given)."""
    if data is None:
        if target is not None:
            raise ConfigError("target", target, "no value without data= (a DataFrame)")
        return None
    from trainwell.data import data_section

    return data_section(data, target=target)


def _sweep_with_data(s: Sweep, section: Mapping[str, Any]) -> Sweep:
    swept = [a.key for a in s.axes if a.key == "data" or a.key.startswith("data.")]
    if swept:
        raise ConfigError("data", f"an axis on {swept[0]}", "data= or a data axis, not both: "
                          "data= gives every run the same data")
    from trainwell.data.memory import replace_data

    return dataclasses.replace(s, base=replace_data(s.base, section))


def _say(console: Console | None, text: str) -> None:
    if console is not None:
        console.print(text, markup=False)
