"""What a checkpoint captures of a training run, and how :func:`~trainwell.loop.fit` puts it
back: weights, optimizer, random generators, callbacks' state and history.

Resuming is exact (on the CPU, bit for bit) because everything that decides the next epoch is
restored at the same point of the loop where it was captured, after ``after_epoch``:

1. ``before_fit`` runs as usual, so callbacks set up what they hold (hooks, schedules, the
   averaged copy of the model);
2. the weights, the optimizer state and each :class:`~trainwell.loop.stateful.Stateful`
   callback's state are loaded over what ``before_fit`` made;
3. the saved history is merged into the fresh one in place: the lists and dicts that
   callbacks put there in ``before_fit`` stay the objects they hold;
4. the shuffling generator, torch's global CPU generator and the CUDA generators are set
   last, so nothing drawn while restoring counts.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

import torch
from safetensors.torch import load, save

from trainwell.loop.events import TrainState
from trainwell.loop.history import History
from trainwell.loop.resume import Checkpoint, read_checkpoint
from trainwell.loop.stateful import Stateful, has_state, join_tensors, split_tensors
from trainwell.loop.vouch import done_counts, rng_metadata

__all__ = ["capture_state", "restore_state", "stateful_callbacks"]


def stateful_callbacks(callbacks: Iterable[object]) -> dict[str, Stateful]:
    """The callbacks that have state, by name: the class name, ``-2``, ``-3``... for repeats."""
    out: dict[str, Stateful] = {}
    seen: collections.Counter[str] = collections.Counter()
    for cb in callbacks:
        if has_state(cb):
            name = type(cb).__name__
            seen[name] += 1
            out[name if seen[name] == 1 else f"{name}-{seen[name]}"] = cb
    return out


def capture_state(state: TrainState, callbacks: Iterable[object],
                  generator: torch.Generator | None) -> dict[str, bytes]:
    """The files of a checkpoint of ``state`` (see :mod:`trainwell.loop.resume`)."""
    model_tree, weights = split_tensors(state.model.state_dict(), "")
    opt = state.optimizer.state_dict()
    groups, opt_tensors = split_tensors(opt["param_groups"], "param_groups")
    per_param, more = split_tensors({str(i): s for i, s in opt["state"].items()}, "state")
    opt_tensors.update(more)
    cb_trees: dict[str, Any] = {}
    cb_tensors: dict[str, torch.Tensor] = {}
    for name, cb in stateful_callbacks(callbacks).items():
        cb_trees[name], tensors = split_tensors(cb.state_dict(), name)
        cb_tensors.update(tensors)
    rng = {"torch": torch.get_rng_state()}
    if generator is not None:
        rng["shuffle"] = generator.get_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng.update({f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    doc = {"epoch": state.epoch, "step": state.step, "model": model_tree,
           "optimizer": {"param_groups": groups, "state": per_param}, "callbacks": cb_trees}
    taken = rng_metadata(*done_counts(state.history))  # what the generator state vouches for
    return {"weights.safetensors": save(weights), "optimizer.safetensors": save(opt_tensors),
            "rng.safetensors": save(rng, metadata=taken),
            "callbacks.safetensors": save(cb_tensors),
            "state.json": json.dumps(doc).encode("utf-8"),
            "history.json": state.history.to_json().encode("utf-8")}


def restore_state(checkpoint: Checkpoint, state: TrainState, callbacks: Iterable[object],
                  generator: torch.Generator | None) -> int:
    """Load ``checkpoint`` into ``state`` (model, optimizer, history), ``callbacks`` and
    ``generator``; return the number of epochs it had done. Records
    ``history.resumed_from`` (that epoch). Raises :class:`ValueError` for a damaged
    checkpoint or one of a run of another length or with other callbacks."""
    found, files = read_checkpoint(checkpoint.path)
    if (found.epochs, found.steps_per_epoch) != (state.epochs, state.steps_per_epoch):
        raise ValueError(f"{found.path} is a checkpoint of a run of {found.epochs} epochs x "
                         f"{found.steps_per_epoch} steps; this run has {state.epochs} x "
                         f"{state.steps_per_epoch}")
    doc = json.loads(files["state.json"])
    named = stateful_callbacks(callbacks)
    if set(named) != set(doc["callbacks"]):
        raise ValueError(f"{found.path} holds the state of the callbacks "
                         f"{sorted(doc['callbacks']) or 'none'}; this run's are "
                         f"{sorted(named) or 'none'}")
    state.model.load_state_dict(join_tensors(doc["model"], load(files["weights.safetensors"])))
    _load_optimizer(state.optimizer, doc["optimizer"], load(files["optimizer.safetensors"]))
    cb_tensors = load(files["callbacks.safetensors"])
    for name, cb in named.items():
        cb.load_state_dict(join_tensors(doc["callbacks"][name], cb_tensors))
    _merge_history(state.history, History.from_dict(json.loads(files["history.json"])))
    state.history.resumed_from = found.epoch
    state.epoch, state.step = int(doc["epoch"]), int(doc["step"])
    _set_generators(load(files["rng.safetensors"]), generator)
    return found.epoch


def _load_optimizer(optimizer: torch.optim.Optimizer, doc: dict[str, Any],
                    tensors: dict[str, torch.Tensor]) -> None:
    groups = join_tensors(doc["param_groups"], tensors)
    for saved, current in zip(groups, optimizer.param_groups, strict=False):
        for key, value in saved.items():
            if isinstance(current.get(key), tuple) and isinstance(value, list):
                saved[key] = tuple(value)  # Adam's betas: JSON has lists only
    per_param = {int(i): s for i, s in join_tensors(doc["state"], tensors).items()}
    optimizer.load_state_dict({"state": per_param, "param_groups": groups})


def _merge_history(history: History, saved: History) -> None:
    """Make the run's ``history`` (the object every callback writes to) the saved one."""
    for f in fields(History):
        setattr(history, f.name, getattr(saved, f.name))


def _set_generators(rng: dict[str, torch.Tensor], generator: torch.Generator | None) -> None:
    if generator is not None:
        if "shuffle" not in rng:
            raise ValueError("the checkpoint has no state of the shuffling generator (it was "
                             "written by a run without one)")
        generator.set_state(rng["shuffle"])
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available():
        states = [rng[f"cuda.{i}"] for i in range(torch.cuda.device_count()) if f"cuda.{i}" in rng]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
