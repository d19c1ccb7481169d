"""The doctor's benchmark: broken and healthy recipes (benchmarks/doctor_cases/), each trained
once with the live monitor, and the doctor run on every broken one.

Prints the detection rate per symptom (a broken case counts as found when a verdict names one
of the symptoms its ``expect`` lists; the monitor never reads it), the false positives on the
healthy cases (any verdict at all), the repair rate (the doctor's recipe reaches the test
accuracy of the case's healthy reference within 2 points), the mean test accuracy gained, and
the doctor's wall time against one training of the broken recipe (same process, data loaded).

    python benchmarks/bench_doctor.py                    # the benchmark (several minutes)
    python benchmarks/bench_doctor.py --calibrate        # the calibration cases' raw numbers
    python benchmarks/bench_doctor.py --only vanishing --no-doctor
    python benchmarks/bench_doctor.py --write docs/doctor-table.md
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).parent / "doctor_cases"
sys.path.insert(0, str(HERE))  # the user's model factory: model.name = "user_models:user_net"

from trainwell.diagnose.symptoms import SYMPTOMS  # noqa: E402
from trainwell.doctor import doctor  # noqa: E402
from trainwell.doctor.budget import total_steps  # noqa: E402
from trainwell.execute import execute, prepare_data  # noqa: E402
from trainwell.loop import resolve_device  # noqa: E402
from trainwell.loop.batches import steps_per_epoch  # noqa: E402
from trainwell.loop.metrics import LOSS  # noqa: E402
from trainwell.recipe import Recipe  # noqa: E402
from trainwell.run import open_store  # noqa: E402
from trainwell.run_context import RunContext  # noqa: E402

REPAIR_POINTS = 0.02
NOT_BROKEN = 0.10
"""A broken case within 10 points of its reference's test accuracy trains after all: it is listed
and left out of the rates."""
ROUNDS = 3
PHASES = ("original", "range_test", "screening", "race", "report", "page")
COMMON = {"train": {"record_every": 25, "device": "cpu", "threads": 1}}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with sections of ``changes`` merged in; a new component name replaces a section."""
    out = copy.deepcopy(base)
    for section, table in changes.items():
        current = out.get(section, {})
        renamed = "name" in table and table["name"] != current.get("name")
        out[section] = dict(table) if renamed else {**current, **table}
    return out


def load_cases(path: Path, epochs_times: int = 1) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The cases; ``epochs_times`` trains every case (and reference) that many times longer."""
    references = tomllib.loads((HERE / "references.toml").read_text())
    cases = tomllib.loads(path.read_text())["case"]
    for case in cases:
        raw = merge(merge(references[case["reference"]], COMMON), case.get("changes", {}))
        if epochs_times != 1:
            raw["train"]["epochs"] = Recipe.from_dict(raw).train.epochs * epochs_times
        case["recipe"] = Recipe.from_dict({"name": case["name"], **raw})
    return references, cases


_DATA: dict[str, Any] = {}


def train_once(recipe: Recipe) -> tuple[Any, float]:
    key = repr(recipe.data.to_dict())
    if key not in _DATA:
        _DATA[key] = prepare_data(recipe, resolve_device("cpu"))
    started = time.perf_counter()
    out = execute(recipe, RunContext(dataset=_DATA[key]))
    return out, time.perf_counter() - started


def steps_run(result: Any) -> int:
    """The optimizer steps the doctor's runs took (a run stopped early counts the ones it took)."""
    with open_store(result.folder / "doctor") as store:
        ids = [c.run_id for c in (*result.candidates, *result.screened)]
        return len(store.metrics(ids, [LOSS]))


def kinds_of(outcome: Any) -> list[str]:
    return [v["kind"] for v in (outcome.history.watch or {}).get("verdicts", [])]


def calibrate(cases: list[dict[str, Any]]) -> None:
    """The raw numbers the thresholds are set on, per calibration case."""
    print(f"{'case':34s} {'kind':8s} {'found':28s} {'max rel g':>9s} {'min g1/gL':>9s} "
          f"{'dead':>5s} {'sat':>5s} {'upd med':>8s} {'cv max':>6s} {'loss drop':>9s} {'start':>6s} "
          f"{'rise':>5s}")
    for case in cases:
        out, _ = train_once(case["recipe"])
        windows = (out.history.watch or {}).get("windows", [])
        rel, ratio, dead, sat, upd, cv = [], [], [], [], [], []
        for w in windows:
            layers = [x for x in w["layers"] if x.get("grad") is not None and x.get("weight")]
            r = [x["grad"] / x["weight"] for x in layers]
            rel += r
            if len(r) >= 3 and r[-1] > 0:
                ratio.append(r[0] / r[-1])
            dead += [x["dead"] for x in w["layers"] if x.get("dead") is not None]
            sat += [x["saturated"] for x in w["layers"] if x.get("saturated") is not None]
            u = sorted(x["update"] for x in w["layers"] if x.get("update") is not None)
            if u:
                upd.append(u[len(u) // 2])
            if w.get("loss_cv") is not None:
                cv.append(w["loss_cv"])
        losses = [w["loss"] for w in windows if w.get("loss") is not None]
        drop = 1 - min(losses[1:]) / losses[0] if len(losses) > 1 and losses[0] else float("nan")
        classes = out.history.data.get("num_classes") if out.history.data else None
        start = losses[0] / math.log(classes) if losses and classes and classes > 1 else float("nan")
        rise = max(((losses[i] - min(losses[:i])) / losses[0] for i in range(1, len(losses))),
                   default=float("nan")) if losses and losses[0] > 0 else float("nan")

        def fmt(values: list[float], pick: Any) -> str:
            return f"{pick(values):.2g}" if values else "—"

        print(f"{case['name']:34s} {case['kind']:8s} {','.join(kinds_of(out)) or '-':28s} "
              f"{fmt(rel, max):>9s} {fmt(ratio, min):>9s} {fmt(dead, max):>5s} {fmt(sat, max):>5s} "
              f"{fmt(upd, max):>8s} {fmt(cv, max):>6s} {drop:9.2f} {start:6.2f} {rise:5.2f}  {out.status}")


def run(cases: list[dict[str, Any]], *, with_doctor: bool, workdir: Path,
        rounds: int = ROUNDS, **options: Any) -> list[dict[str, Any]]:
    reference_acc: dict[str, float] = {}
    reference_seconds: dict[str, float] = {}
    rows = []
    ordered = sorted(cases, key=lambda c: (c["kind"] != "healthy", c["name"]))
    for case in ordered:
        out, seconds = train_once(case["recipe"])
        found = kinds_of(out)
        row = {"name": case["name"], "kind": case["kind"], "expect": case.get("expect", []),
               "found": found, "test_acc": out.history.final.get("test_acc"), "status": out.status,
               "seconds": seconds}
        if case["kind"] == "healthy" and case["name"] == case["reference"]:
            reference_acc[case["reference"]] = row["test_acc"] or 0.0
            reference_seconds[case["reference"]] = seconds
        if case["kind"] == "broken":
            row["detected"] = bool(set(found) & set(case["expect"]))
            ref = reference_acc.get(case["reference"])
            row["broken"] = (out.status != "done" or ref is None
                             or (row["test_acc"] or 0.0) < ref - NOT_BROKEN)
            if with_doctor and row["broken"]:
                started = time.perf_counter()
                result = doctor(case["recipe"], out=workdir / case["name"], rounds=rounds, **options)
                row["doctor_seconds"] = time.perf_counter() - started
                # one training of the recipe: its own run when it ran its epochs; a run that
                # stopped early (diverged) costs a fraction of one, so its healthy reference's
                # training (same model, data and epochs) stands for it
                row["one_training"] = (seconds if out.status == "done"
                                       else reference_seconds.get(case["reference"], seconds))
                row["report_seconds"] = result.report_seconds
                row["phases"] = result.phases
                runs = [*result.candidates, *result.screened]
                row["runs_seconds"] = sum(c.seconds or 0.0 for c in runs)
                per_epoch = steps_per_epoch(out.history.data["train_samples"],
                                            case["recipe"].train.batch_size)
                row["budget"] = steps_run(result) / total_steps(case["recipe"], per_epoch)
                row["chosen"] = result.chosen
                row["after_acc"] = result.winner.test_acc or 0.0
                ref = reference_acc.get(case["reference"])
                row["reference_acc"] = ref
                row["repaired"] = ref is not None and row["after_acc"] >= ref - REPAIR_POINTS
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _phase(doctored: list[dict[str, Any]], phase: str) -> str:
    """One phase of the doctor: its median seconds and median share of the doctor's time."""
    seconds = statistics.median(r["phases"].get(phase, 0.0) for r in doctored)
    share = statistics.median(r["phases"].get(phase, 0.0) / r["doctor_seconds"] for r in doctored)
    return f"{phase} {seconds:.2f} s ({100 * share:.0f} %)"


def _line(row: dict[str, Any]) -> str:
    acc = "—" if row["test_acc"] is None else f"{100 * row['test_acc']:.1f}"
    found = ",".join(row["found"]) or "-"
    text = f"{row['name']:32s} {row['kind']:8s} {row['status']:8s} test {acc:>5s} found {found}"
    if row["kind"] == "broken" and not row["broken"]:
        text += " (not broken after all)"
    if "chosen" in row:
        text += (f" | doctor: {row['chosen']} -> {100 * row['after_acc']:.1f} (ref "
                 f"{100 * (row['reference_acc'] or 0):.1f}) {row['doctor_seconds']:.2f}s / "
                 f"{row['one_training']:.2f}s = {row['doctor_seconds'] / row['one_training']:.1f}x")
    return text


def summary(rows: list[dict[str, Any]]) -> str:
    broken = [r for r in rows if r["kind"] == "broken" and r["broken"]]
    trained = [r for r in rows if r["kind"] == "broken" and not r["broken"]]
    healthy = [r for r in rows if r["kind"] == "healthy"]
    lines = ["| symptom | broken cases | detected | rate | repaired | rate |",
             "|---|---:|---:|---:|---:|---:|"]

    def counts(mine: list[dict[str, Any]]) -> str:
        hits = sum(r["detected"] for r in mine)
        fixed = sum(r.get("repaired", False) for r in mine)
        repair = (f"{fixed} | {100 * fixed / len(mine):.0f} %" if any("chosen" in r for r in mine)
                  else "— | —")
        return f"{len(mine)} | {hits} | {100 * hits / len(mine):.0f} % | {repair}"

    for symptom in SYMPTOMS:
        mine = [r for r in broken if r["expect"] and r["expect"][0] == symptom]
        if mine:
            lines.append(f"| {symptom} | {counts(mine)} |")
    if broken:
        lines.append(f"| **all** | {counts(broken)} |")
    lines.append("")
    if trained:
        lines.append(f"- not broken after all (within {100 * NOT_BROKEN:.0f} points of the reference), "
                     f"left out: " + ", ".join(f"{r['name']} (found {','.join(r['found']) or 'nothing'})"
                                              for r in trained))
    fp = [r for r in healthy if r["found"]]
    if healthy:
        lines.append(f"- false positives: {len(fp)} of {len(healthy)} healthy recipes "
                     f"({100 * len(fp) / len(healthy):.0f} %)"
                     + (": " + ", ".join(f"{r['name']} ({','.join(r['found'])})" for r in fp) if fp else ""))
    doctored = [r for r in broken if "chosen" in r]
    if doctored:
        repaired = sum(r["repaired"] for r in doctored)
        gained = [r["after_acc"] - (r["test_acc"] or 0.0) for r in doctored]
        ratios = [r["doctor_seconds"] / r["one_training"] for r in doctored]
        search = [(r["doctor_seconds"] - r["report_seconds"]) / r["one_training"] for r in doctored]
        runs = [r["runs_seconds"] / r["one_training"] for r in doctored]
        own = [r["doctor_seconds"] / r["seconds"] for r in doctored]
        early = [r for r in doctored if r["status"] != "done"]
        budgets = [r["budget"] for r in doctored]
        lines += [f"- repaired (within {100 * REPAIR_POINTS:.0f} points of the healthy reference's "
                  f"test accuracy): {repaired} of {len(doctored)} ({100 * repaired / len(doctored):.0f} %)",
                  f"- mean test accuracy gained: {100 * statistics.mean(gained):+.1f} points",
                  f"- doctor time / one training: median {statistics.median(ratios):.1f}x, mean "
                  f"{statistics.mean(ratios):.1f}x, max {max(ratios):.1f}x; without writing the "
                  f"race's sweep report: median {statistics.median(search):.1f}x, mean "
                  f"{statistics.mean(search):.1f}x (one training: median "
                  f"{statistics.median(r['one_training'] for r in doctored):.2f} s; for the "
                  f"{len(early)} recipes that diverged early, their healthy reference's training: "
                  f"against their own stopped run, median {statistics.median(own):.1f}x over all)",
                  f"- the doctor's runs alone (their wall time in the store) / one training: median "
                  f"{statistics.median(runs):.1f}x, mean {statistics.mean(runs):.1f}x; its training "
                  f"budget in trainings of the recipe (optimizer steps its runs took / the recipe's): median "
                  f"{statistics.median(budgets):.2f}, mean {statistics.mean(budgets):.2f}, max "
                  f"{max(budgets):.2f}",
                  "- the doctor's phases, median seconds (share of the doctor's time): "
                  + ", ".join(_phase(doctored, phase) for phase in PHASES),
                  f"- the doctor's time beyond its runs (fixed costs): median "
                  f"{statistics.median(r['doctor_seconds'] - r['runs_seconds'] for r in doctored):.2f} s"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true", help="Print the calibration cases' raw numbers.")
    parser.add_argument("--only", help="Only cases whose name contains one of these "
                                       "(comma-separated), and the references.")
    parser.add_argument("--no-doctor", action="store_true", help="Detection and false positives only.")
    parser.add_argument("--write", type=Path, help="Also write the summary table (markdown) here.")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="The doctor's rounds of fixes.")
    parser.add_argument("--lr-steps", type=int, help="The doctor's range test steps (its default: 50).")
    parser.add_argument("--screen", type=float, help="The doctor's screening budget (its default: 1/8).")
    parser.add_argument("--epochs-times", type=int, default=1,
                        help="Train every case this many times longer "
                             "(the doctor's time on longer trainings).")
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = HERE / ("calibration.toml" if args.calibrate else "cases.toml")
    _, cases = load_cases(path, args.epochs_times)
    if args.only:
        cases = [c for c in cases if any(n in c["name"] for n in args.only.split(","))
                 or c["name"] == c["reference"]]  # the references score the repairs
    if args.calibrate:
        calibrate(cases)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        given = {k: v for k, v in (("lr_steps", args.lr_steps), ("screen", args.screen))
                 if v is not None}
        rows = run(cases, with_doctor=not args.no_doctor, workdir=Path(tmp), rounds=args.rounds,
                   **given)
    text = summary(rows)
    print()
    print(text)
    print(f"\n{len(rows)} cases in {time.perf_counter() - started:.0f} s")
    if args.write:
        args.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
