import json
import subprocess
import sys

import pytest

from trainwell.errors import ConfigError
from trainwell.sweep import Sweep, format_point, format_value, run_id

BASE = {"data": {"name": "digits"}, "train": {"epochs": 1}}


def sweep(raw, **kw):
    return Sweep.from_dict({**BASE, **raw}, experiment="t", **kw)


def test_list_values_become_axes_in_file_order():
    s = sweep({"init": {"name": ["zeros", "he_normal"]},
               "model": {"activation": ["sigmoid", "relu", "tanh"]}})
    assert [a.key for a in s.axes] == ["init.name", "model.activation"]
    points = s.points()
    assert len(points) == 6
    assert points[0] == {"init.name": "zeros", "model.activation": "sigmoid"}
    assert points[-1] == {"init.name": "he_normal", "model.activation": "tanh"}


def test_array_of_tables_is_a_section_axis():
    s = sweep({"init": [{"name": "zeros"}, {"name": "uniform", "a": -0.5, "b": 0.5}]})
    recipes = s.recipes()
    assert [r.init.name for _, _, r in recipes] == ["zeros", "uniform"]
    assert recipes[1][2].init.options == {"a": -0.5, "b": 0.5}
    assert format_point(recipes[1][0]) == "uniform(a=-0.5, b=0.5)"


def test_a_list_valued_option_is_a_value_and_a_list_of_lists_an_axis():
    one = sweep({"model": {"name": "cnn", "channels": [4, 8]}})
    assert one.axes == () and one.recipes()[0][2].model.options["channels"] == [4, 8]
    two = sweep({"model": {"name": "cnn", "channels": [[4], [4, 8]]}})
    assert [a.key for a in two.axes] == ["model.channels"]
    assert [r.model.options["channels"] for _, _, r in two.recipes()] == [[4], [4, 8]]


def test_sweep_table_axes_and_seeds():
    s = sweep({"sweep": {"seeds": 3, "axes": {"optim.lr": [0.1, 0.01]}}, "train": {"seed": 10}})
    runs = s.recipes()
    assert len(runs) == 6
    assert [seed for _, seed, _ in runs] == [10, 11, 12, 10, 11, 12]
    assert [r.optim.options["lr"] for _, _, r in runs] == [0.1] * 3 + [0.01] * 3


def test_run_ids_are_distinct_and_stable_across_processes():
    s = sweep({"init": {"name": ["zeros", "he_normal"]}, "sweep": {"seeds": 2}})
    ids = [run_id(r.to_dict()) for _, _, r in s.recipes()]
    assert len(set(ids)) == 4 and all(len(i) == 12 for i in ids)
    assert ids == [run_id(r.to_dict()) for _, _, r in s.recipes()]
    code = ("import json,sys; from trainwell.sweep import run_id; from trainwell.recipe import Recipe;"
            "print(run_id(Recipe.from_dict(json.loads(sys.argv[1])).to_dict()))")
    raw = s.recipes()[3][2].to_dict()
    out = subprocess.run([sys.executable, "-c", code, json.dumps(raw)], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == ids[3]


def test_flags_narrow_a_section_axis_and_add_new_entries():
    s = sweep({"init": [{"name": "zeros"}, {"name": "uniform", "a": -2.0, "b": 2.0}]})
    narrowed = s.with_axis("init.name", ["uniform", "he_normal"])
    assert [format_value(v) for v in narrowed.axes[0].values] == ["uniform(a=-2.0, b=2.0)", "he_normal"]


def test_overrides_fix_a_former_axis():
    s = sweep({"optim": {"name": "sgd", "lr": [0.1, 0.2]}}).with_overrides(["optim.lr=0.3"])
    assert s.axes == () and s.recipes()[0][2].optim.options["lr"] == 0.3


def test_fixed_part_leaves_out_axes_and_seed():
    fixed = sweep({"init": {"name": ["zeros", "he_normal"]}}).fixed()
    assert "init" in fixed and "name" not in fixed["init"]
    assert "seed" not in fixed["train"] and fixed["data"]["name"] == "digits"


@pytest.mark.parametrize(("raw", "key"), [
    ({"init": {"name": ["zeros", "he_nrmal"]}}, "init.name"),
    ({"optim": {"lr": [0.1, -1.0]}}, "optim.lr"),
    ({"sweep": {"seeds": 0}}, "sweep.seeds"),
    ({"sweep": {"seed": 2}}, "sweep.seed"),
    ({"sweep": {"axes": {"optim.lr": []}}}, "sweep.axes.optim.lr"),
    ({"init": [1, 2]}, "init"),
])
def test_bad_sweeps_name_the_key(raw, key):
    with pytest.raises(ConfigError) as info:
        sweep(raw).recipes()
    assert info.value.key == key


def test_a_sweep_is_named_by_its_experiment_key_else_its_top_level_name_else_its_file(tmp_path):
    from trainwell.sweep import load_sweep

    path = tmp_path / "grid.toml"
    path.write_text('name = "inits on digits"\n[data]\nname = "digits"\n')
    assert load_sweep(path).experiment == "inits on digits"
    path.write_text('name = "inits"\n[sweep]\nexperiment = "kept"\n')
    assert load_sweep(path).experiment == "kept"
    path.write_text('[data]\nname = "digits"\n')
    assert load_sweep(path).experiment == "grid"
