"""The commands for a network that does not train: ``diagnose``, ``lr-find``, ``doctor``,
``pretrain`` and ``playground`` (registered on the app by :mod:`trainwell.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from trainwell.cli_app import AtLeast, QuietOpt, SetOpt
from trainwell.cli_app import console as _console

__all__ = ["diagnose_", "lr_find_", "doctor", "pretrain", "playground"]


def diagnose_(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,
              set_: SetOpt = None,
              after_steps: Annotated[int, typer.Option("--after-steps", callback=AtLeast("--after-steps", 0).check, help="Train this many optimizer steps before probing.")] = 0,
              out: Annotated[Path, typer.Option("--out", help="Folder for diagnosis.html and diagnosis.json.")] = Path("runs/diagnose")) -> int:
    """Probe a recipe's network layer by layer and say why it does or does not train.

    Example: trainwell diagnose --set model.activation=sigmoid --set init.name=lecture_xavier
    """
    import json

    from trainwell._io import atomic_write_text
    from trainwell.recipe import load_recipe
    from trainwell.recipe_diagnosis import diagnose_recipe
    from trainwell.report.diagnosis import write_diagnosis_page

    r = load_recipe(recipe, set_ or [])
    result = diagnose_recipe(r, after_steps=after_steps)
    d = result.diagnosis
    console = _console()
    console.print(d.table())
    title = (r.name or f"{r.model.name} · {r.model.options.get('activation', '')} · {r.init.name}")
    title += f" · after {result.steps} steps" if result.steps else " · at initialization"
    page = write_diagnosis_page(d, out / "diagnosis.html", title=title)
    atomic_write_text(out / "diagnosis.json", json.dumps(d.to_dict(), indent=1))
    console.print(f"Diagnosis: {page}", markup=False)
    return 0


def lr_find_(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,
             set_: SetOpt = None,
             steps: Annotated[int, typer.Option(callback=AtLeast("--steps", 2).check, help="Steps of the range test (the lr grows exponentially over them).")] = 100,
             start_lr: Annotated[float, typer.Option("--start-lr", callback=AtLeast("--start-lr", 0, above=True).check, help="The first learning rate.")] = 1e-7,
             end_lr: Annotated[float, typer.Option("--end-lr", callback=AtLeast("--end-lr", 0, above=True).check, help="The last learning rate.")] = 10.0,
             out: Annotated[Path, typer.Option("--out", help="Folder for lr_find.png.")] = Path("runs/lr-find")) -> int:
    """Learning-rate range test: the loss against an exponentially growing lr, and a suggested lr.

    Example: trainwell lr-find recipe.toml --set optim.name=sgd --steps 200
    """
    from trainwell.recipe import load_recipe
    from trainwell.recipe_lr_find import lr_find_recipe

    r = load_recipe(recipe, set_ or [])
    found = lr_find_recipe(r, steps=steps, start_lr=start_lr, end_lr=end_lr)
    out.mkdir(parents=True, exist_ok=True)
    found.save(str(out / "lr_find.png"))
    console = _console()
    console.print(str(found), markup=False)
    console.print(f"Curve: {out / 'lr_find.png'}; use it with --set optim.lr={found.suggestion:.3g}",
                  markup=False)
    return 0


def doctor(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,
           set_: SetOpt = None,
           out: Annotated[Path, typer.Option("--out", help="Folder for fixed.toml, doctor.html and the race's store and report.")] = Path("runs/doctor"),
           fixes: Annotated[int, typer.Option(callback=AtLeast("--fixes", 1).check, help="At most this many fixes screened per round (on an eighth of the budget, at least an epoch; the best races the original).")] = 4,
           workers: Annotated[int | None, typer.Option(callback=AtLeast("--workers", 1).check, help="Worker processes for the race (default: none, the runs one after another here).")] = None,
           quiet: QuietOpt = False) -> int:
    """Find why a recipe does not train, race the fixes side by side, write the repaired recipe.

    Example: trainwell doctor recipe.toml --out runs/doctor

    Trains the recipe with the live monitor, proposes the lectures' fixes for what it found,
    screens them on an eighth of the budget (at least an epoch), then Adam's step and pairs of
    fixes on top of the best, races the best against the original with the full budget, picks
    on validation accuracy and writes OUT/fixed.toml and OUT/doctor.html.
    Exit code 1 when the recipe itself fails to run (its error is printed; nothing is raced).
    """
    from trainwell.doctor import doctor as run_doctor
    from trainwell.plan import resolve
    from trainwell.recipe import load_recipe

    r = resolve(load_recipe(recipe, set_ or []))
    result = run_doctor(r, out=out, limit=fixes, workers=workers, quiet=quiet)
    console = _console()
    for v in result.verdicts:
        console.print(f"step {v.step}: {v.message}; {v.fix}", markup=False)
    if result.screened:
        console.print(f"screened {len(result.screened)} recipes on {result.screen_budget} each; "
                      f"the best raced the original on the whole budget", markup=False)
    for c in result.candidates:
        mark = "*" if c.label == result.chosen else " "
        acc = "—" if c.val_acc is None else f"{100 * c.val_acc:.1f} %"
        console.print(f"{mark} {c.label:<28} {c.ended:<9} val_acc {acc:>7}  {c.reason}", markup=False)
    console.print(str(result), markup=False)
    console.print(f"wrote {', '.join(str(p) for p in result.written)}", markup=False)
    return 1 if result.error is not None else 0


def pretrain(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file whose [init] is dbn or autoencoder.")] = None,
             set_: SetOpt = None,
             out: Annotated[Path, typer.Option("--out", help="Folder for the RBMs, the weights and the report.")] = Path("runs/pretrain"),
             quiet: QuietOpt = False) -> int:
    """Pre-train a network's hidden layers (RBMs of a DBN, auto-encoders, or LSUV) and save them.

    Example: trainwell pretrain --set init.name=dbn --set init.epochs=5 --out runs/dbn
    """
    from trainwell.recipe import load_recipe
    from trainwell.recipe_pretrain import pretrain_recipe, save_pretrained

    r = load_recipe(recipe, set_ or [])
    console = _console()
    result = pretrain_recipe(r, progress=not quiet and sys.stderr.isatty())
    if r.init.name == "lsuv":
        console.print(str(result.report), markup=False)
    else:
        console.print(_pretrain_table(result.report))
    for path in save_pretrained(result, out, recipe_toml=r.to_toml()):
        console.print(f"wrote {path}", markup=False)
    return 0


def _pretrain_table(report):
    """Per layer of a DBN or auto-encoder stack: sizes and the reconstruction error curve."""
    from rich.table import Table

    table = Table(title=str(report).splitlines()[0])
    for col in ("layer", "sizes", "reconstruction error by epoch", "first", "last", "seconds"):
        table.add_column(col, justify="left" if col in ("layer", "reconstruction error by epoch") else "right")
    for i, layer in enumerate(report.layers, 1):
        curve = list(getattr(layer, "recon_error", None) or getattr(layer, "mse", None) or ())
        sizes = (f"{layer.n_visible}→{layer.n_hidden}" if hasattr(layer, "n_visible")
                 else f"{layer.in_features}→{layer.out_features}")
        table.add_row(str(i), sizes, _sparkline(curve), f"{curve[0]:.4g}", f"{curve[-1]:.4g}",
                      f"{layer.seconds:.1f}")
    return table


def _sparkline(values: list[float]) -> str:
    """A curve in block characters, lowest to highest."""
    bars = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(bars[int((v - lo) / span * (len(bars) - 1))] for v in values)


def playground(surface: Annotated[str | None, typer.Option(metavar="A,B,...", help="Loss surfaces to race on (default: all; a wrong name lists them).")] = None,
               optim: Annotated[str | None, typer.Option(metavar="A,B,...", help="Optimizers to race (default: the lecture's six).")] = None,
               steps: Annotated[int, typer.Option(callback=AtLeast("--steps", 1).check, help="Optimizer steps per trajectory.")] = 200,
               tune: Annotated[bool, typer.Option("--tune", help="Tune each optimizer's lr on a small grid.")] = False,
               lr: Annotated[float | None, typer.Option(callback=AtLeast("--lr", 0, above=True).check, help="One lr for every optimizer (default: the surface's).")] = None,
               out: Annotated[Path, typer.Option("--out", help="Folder for <surface>.png and .html.")] = Path("runs/playground")) -> int:
    """Race optimizers on 2-D loss surfaces: contour plots, animations and a table.

    Example: trainwell playground --surface taco,saddle --optim sgd,momentum,adam --tune
    """
    from trainwell.optim.playground import playground_main

    names = [v.strip() for v in surface.split(",") if v.strip()] if surface else None
    optims = [v.strip() for v in optim.split(",") if v.strip()] if optim else None
    _console().print(playground_main(names, optims, steps, out, tune, lr=lr))
    return 0
