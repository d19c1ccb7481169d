"""The MNIST-1D fast study: its recipe, its ablation sweep, and the data its benchmark uses."""

import importlib.util
from pathlib import Path

import torch

from trainwell.recipe import load_recipe
from trainwell.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "studies" / "mnist1d_fast.toml"
ABLATION = ROOT / "studies" / "mnist1d_fast_ablation.toml"


def _bench():
    """benchmarks/bench_mnist1d.py as a module (benchmarks are scripts, not a package)."""
    path = ROOT / "benchmarks" / "bench_mnist1d.py"
    spec = importlib.util.spec_from_file_location("trainwell_bench_mnist1d", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_study_recipe_is_the_documented_one():
    r = load_recipe(STUDY)
    assert r.data.name == "mnist1d"
    assert {k: r.data.options[k] for k in ("num_samples", "val_fraction", "normalize", "seed")} == {
        "num_samples": 5000, "val_fraction": 0.0, "normalize": "none", "seed": 42}
    assert r.model.name == "resnet"
    assert {k: r.model.options[k] for k in ("blocks", "width", "batch_norm", "pool", "stem_norm",
                                            "global_pool", "stem_stride")} == {
        "blocks": 3, "width": 32, "batch_norm": False, "pool": "max", "stem_norm": True,
        "global_pool": "avgmax", "stem_stride": 2}
    assert (r.optim.name, r.optim.options["lr"], r.optim.options["fused"]) == ("adam", 0.03, True)
    assert (r.schedule.name, r.schedule.options["per"]) == ("one_cycle", "step")
    assert r.augment.transforms == [{"name": "shift", "max_shift": 3, "circular": True}]
    assert r.average.kind == "none" and r.augment.test_views == 5
    assert (r.train.epochs, r.train.batch_size, r.train.eval_every, r.train.record_every) == (
        14, 128, 0, 0)


def test_ablation_adds_one_change_at_a_time_through_the_study():
    sweep = load_sweep(ABLATION)
    assert len(sweep.recipes()) == 12 * 3
    single = sweep.with_seeds(1).recipes()
    labels = [point["variant"]["label"] for point, _, _ in single]
    assert labels[0] == "resnet 3x32, no batch norm, constant lr"
    assert labels[11].endswith("the study recipe")
    dicts = [recipe.to_dict() for _, _, recipe in single]
    for before, after in zip(dicts[:11], dicts[1:12], strict=True):
        changed = [k for k in after if k not in ("name", "note") and after[k] != before.get(k)]
        assert len(changed) == 1, changed
    study = load_recipe(STUDY).to_dict()
    changed = [k for k in study if k not in ("name", "note") and study[k] != dicts[11][k]]
    assert changed == []


def test_reference_model_is_convbase():
    model = _bench().ConvBase()
    assert model(torch.zeros(3, 1, 40)).shape == (3, 10)
    assert sum(p.numel() for p in model.parameters()) == 5210


def test_benchmark_and_study_train_and_test_on_make_dataset_arrays():
    bench = _bench()
    arrays = bench.standard_mnist1d()
    assert [len(arrays[k]) for k in ("x_train", "y_train", "x_test", "y_test")] == [
        4000, 4000, 1000, 1000]
    ds = bench.study_dataset(load_recipe(STUDY))
    assert torch.equal(ds.x_test, arrays["x_test"]) and torch.equal(ds.y_test, arrays["y_test"])
    assert len(ds.x_val) == 0 and len(ds.x_train) == 4000
    assert bench.same_arrays(ds, arrays)
    changed = dict(arrays, x_train=arrays["x_train"].clone())
    changed["x_train"][17, 0, 5] += 1e-3
    assert not bench.same_arrays(ds, changed)


def test_selection_splits_the_training_samples_and_leaves_the_test_set_out():
    bench = _bench()
    single = load_sweep(ROOT / "studies" / "mnist1d_fast_select.toml").with_seeds(1).recipes()
    assert len(single) >= 8
    for _, _, recipe in single:
        assert (recipe.data.options["num_samples"], recipe.data.options["val_fraction"]) == (5000, 0.2)
        assert recipe.augment.test_views == 1  # views are scored on the validation split
    ds = bench.study_dataset(single[0][2])
    assert (len(ds.x_train), len(ds.x_val)) == (3200, 800)
    arrays = bench.standard_mnist1d()
    pooled = bench.Dataset(x_train=torch.cat([ds.x_train, ds.x_val]),
                           y_train=torch.cat([ds.y_train, ds.y_val]), x_val=ds.x_val[:0],
                           y_val=ds.y_val[:0], x_test=ds.x_test, y_test=ds.y_test, meta=ds.meta)
    assert bench.same_arrays(pooled, arrays)  # train + val are exactly the 4,000 training pairs


def test_each_split_seed_carves_another_validation_split_from_the_same_training_samples():
    bench = _bench()
    recipe = load_sweep(ROOT / "studies" / "mnist1d_fast_select.toml").with_seeds(1).recipes()[0][2]
    first, other = bench._split(recipe, 0), bench._split(recipe, 1)
    assert len(first.x_val) == len(other.x_val) == 800
    assert not torch.equal(first.x_val, other.x_val)
    assert torch.equal(first.x_test, other.x_test)
    arrays = bench.standard_mnist1d()
    pooled = bench.Dataset(x_train=torch.cat([other.x_train, other.x_val]),
                           y_train=torch.cat([other.y_train, other.y_val]), x_val=other.x_val[:0],
                           y_val=other.y_val[:0], x_test=other.x_test, y_test=other.y_test,
                           meta=other.meta)
    assert bench.same_arrays(pooled, arrays)
