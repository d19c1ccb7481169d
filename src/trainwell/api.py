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

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell import _toml
from trainwell.api_build import FLAG_AXES, build_recipe, build_sweep, sweep_with_data
from trainwell.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from rich.console import Console

    from trainwell.recipe import Recipe
    from trainwell.results import Results, Run
    from trainwell.sweep import Sweep

__all__ = ["train", "compare", "build_sweep", "build_recipe", "overrides_of", "FLAG_AXES"]

OverridesArg = Mapping[str, Any] | Sequence[str] | str | None


def train(recipe: str | Path | Recipe | Mapping[str, Any] | None = None, *,
          data: Any = None, target: str | None = None,
          set: OverridesArg = None, out: str | Path | None = None, resume: bool = False,
          overwrite: bool = False, quiet: bool = False, console: Console | None = None,
          **overrides: Any) -> Run:
    """Train one recipe (a file, a :class:`~trainwell.recipe.Recipe`, a dict; default: the
    default recipe) with overrides, and return the :class:`~trainwell.results.Run`.

    The run is a one-point plan through the same driver as :func:`compare`'s runs, here in this
    process (:mod:`trainwell.run.single`). ``out``: write the run there as ``trainwell train
    --out`` does (recipe.toml, history.json, weights and predictions; checkpoints/ with
    ``train.checkpoint_every``); a folder holding another run is refused unless ``overwrite``
    replaces it, and ``resume`` continues this recipe's unfinished run from the last good
    checkpoint in ``out/checkpoints``. A run that diverges or fails is returned
    (``run.status``), not raised. Messages (resuming, a transfer source trained first) go to
    ``console`` (default: stdout; none when ``quiet``), the progress bar to the terminal or the
    notebook cell unless ``quiet``. ``data`` (and ``target``):
    your data from Python (see the module doc).

    >>> run = train(data__name="digits", train__epochs=1, quiet=True)  # doctest: +SKIP
    >>> run = train(data=(x, y), train__epochs=5)  # doctest: +SKIP
    """
    from trainwell.loop import ProgressBar
    from trainwell.plan import plan
    from trainwell.recipe import Recipe
    from trainwell.run.single import check_out, train_plan

    r = build_recipe(recipe, overrides_of(set, overrides, "train"), data=_given_data(data, target))
    for name, value in (("resume", resume), ("overwrite", overwrite), ("quiet", quiet)):
        if not isinstance(value, bool):
            raise ConfigError(name, value, "True or False")
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ConfigError("resume", True, "an out folder with it (out, --out): the checkpoints "
                          "are in its checkpoints/")
    if r.train.log_to is not None and out is None:
        raise ConfigError("train.log_to", r.train.log_to,
                          "an out folder with it (out, --out): the events go to its tensorboard/")
    p = plan(r)
    resolved = p.runs[0].recipe
    line = check_out(out, Recipe.from_dict(resolved), resume=resume, overwrite=overwrite) \
        if out is not None else None
    if console is None and not quiet:
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=True)
    if line is not None:
        _say(console, line)
    if p.sources:
        _say(console, "the transfer source first"
             + (f" (kept in {out / 'source'})" if out is not None else ""))
    label = r.name or f"{r.model.name} · {r.init.name} · {r.optim.name}"
    bar = ProgressBar(description=r.name or "train", enabled=False if quiet else None)
    return train_plan(p, label=label, out=out, resume=resume, overwrite=overwrite,
                      callbacks=[bar], console=console)


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
    ``cpus_per_run``, ``gpus_per_run``); ``retries`` for a run whose worker died
    (:class:`~trainwell.run.options.BackendOptions`); ``name`` the experiment (default: the
    sweep's). Runs already finished in that folder are kept, not run again (a finished run
    whose folder or weights are gone is trained again, and said so). Failed runs are results
    (``results.outcome.failed``), and so is a Ctrl-C: the runs finished by then are kept and
    shown (``results.outcome.interrupted``). ``data``
    given as names is the data axis; as arrays, tensors, Datasets or a DataFrame (with
    ``target``), it is your data for every run (see the module doc).

    >>> res = compare(init=["he_normal", "zeros"], data__name="digits")  # doctest: +SKIP
    >>> res = compare(init=["he_normal", "zeros"], data=(x, y))  # doctest: +SKIP
    """
    from trainwell.plan import plan
    from trainwell.report.html import write_report
    from trainwell.results import Results
    from trainwell.run import BackendOptions, open_store, run_sweep

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
        s = sweep_with_data(s, given)
    options = BackendOptions(backend, workers=workers, runs_per_gpu=runs_per_gpu,
                             address=address, cpus_per_run=cpus_per_run,
                             gpus_per_run=gpus_per_run, retries=retries)
    from trainwell.data.resolve import check_sources

    p = plan(s)
    check_sources((run.recipe["data"]["name"],
                   {k: v for k, v in run.recipe["data"].items() if k != "name"})
                  for run in p.runs)
    outcome = run_sweep(p, root=root, backend=options.make(), retries=options.retries,
                        quiet=quiet)
    write_report(outcome.folder, experiment=outcome.experiment)
    return Results(open_store(outcome.folder), outcome.experiment, outcome=outcome)


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
    seen = {".".join(parse_override(t, flag="set")[0]) for t in texts}
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


def _given_data(data: Any, target: str | None) -> dict[str, Any] | None:
    """The ``[data]`` section that reads ``data`` (None: no data given)."""
    if data is None:
        if target is not None:
            raise ConfigError("target", target, "no value without data= (a DataFrame)")
        return None
    from trainwell.data import data_section

    return data_section(data, target=target)


def _say(console: Console | None, text: str) -> None:
    if console is not None:
        console.print(text, markup=False)
