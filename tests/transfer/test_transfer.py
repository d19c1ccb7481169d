"""Transfer learning: loading a source, freezing with batch norm, discriminative lrs, gradual
unfreezing, and the recipe's [transfer] table."""

import importlib

import pytest
import torch
from safetensors.torch import save_file

from trainwell.data import load_dataset
from trainwell.errors import ConfigError
from trainwell.execute import RunContext, execute
from trainwell.loop import fit, save_run
from trainwell.models import build_model
from trainwell.plan import plan, resolve
from trainwell.recipe import Recipe
from trainwell.sweep import run_id
from trainwell.transfer import Freeze, layer_groups, load_into, param_groups, read_weights

MODEL = {"name": "cnn", "channels": [8, 8], "batch_norm": True}
SOURCE = {"data": {"name": "digits", "classes": [0, 1, 2, 3, 4]}, "model": MODEL,
          "train": {"epochs": 3, "threads": 1, "record_every": 0}}


def _cnn(classes=5, seed=0):
    torch.manual_seed(seed)
    return build_model("cnn", input_shape=(1, 8, 8), num_classes=classes, channels=[8, 8],
                       batch_norm=True)


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    recipe = Recipe.from_dict(SOURCE)
    out = execute(recipe)
    assert out.status == "done"
    folder = tmp_path_factory.mktemp("source")
    save_run(folder, recipe_toml=recipe.to_toml(), history=out.history, weights=out.weights,
             artifacts=out.artifacts)
    return folder, out


def test_layer_groups_go_bottom_to_top_with_the_head_last():
    assert [g.name for g in layer_groups(_cnn())] == ["features.0", "features.1", "head"]
    resnet = build_model("resnet", input_shape=(1, 40), num_classes=10, blocks=2, width=8)
    assert [g.name for g in layer_groups(resnet)] == ["stem", "blocks.0", "blocks.1", "head"]


def test_matching_layers_are_copied_exactly_and_a_new_head_keeps_its_init():
    src, dst = _cnn(5, seed=1), _cnn(3, seed=2)
    head_before = dst.head.weight.detach().clone()
    summary = load_into(dst, src.state_dict(), head="new")
    for k, v in src.state_dict().items():
        if not k.startswith("head"):
            assert torch.equal(dst.state_dict()[k], v), k
    assert torch.equal(dst.head.weight, head_before)
    assert summary["new"] == ["head.bias", "head.weight"]


def test_a_shape_mismatch_is_rejected_naming_the_layers():
    src = build_model("cnn", input_shape=(1, 8, 8), num_classes=5, channels=[8, 16],
                      batch_norm=True)
    with pytest.raises(ConfigError) as err:
        load_into(_cnn(5), src.state_dict(), head="new")
    assert "features.1.conv.weight (source [16, 8, 5, 5], target [8, 8, 5, 5])" in str(err.value)
    with pytest.raises(ConfigError, match='head = "keep" needs the same classes'):
        load_into(_cnn(3), _cnn(5).state_dict(), head="keep")


def test_a_pickle_offered_as_weights_is_refused(tmp_path):
    torch.save(_cnn().state_dict(), tmp_path / "weights.safetensors")
    with pytest.raises(ConfigError, match="pickle"):
        read_weights(tmp_path / "weights.safetensors")
    (tmp_path / "model.pt").write_bytes(b"\x80\x04.")
    with pytest.raises(ConfigError, match="pickle files are refused"):
        resolve(Recipe.from_dict({"transfer": {"from": str(tmp_path / "model.pt")}}))


def test_frozen_layers_and_their_batch_norm_statistics_do_not_move():
    ds = load_dataset("digits", classes=[5, 6, 7, 8, 9])
    model = _cnn(5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    freeze = Freeze(model, frozen=2)
    fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=2,
        batch_size=64, callbacks=[freeze], generator=torch.Generator().manual_seed(0))
    after = model.state_dict()
    for k in before:
        if k.startswith("features"):
            assert torch.equal(after[k], before[k]), f"frozen {k} moved"
        elif k.startswith("head"):
            assert not torch.equal(after[k], before[k]), f"trainable {k} did not move"
    assert all(p.requires_grad for p in model.parameters())  # handed back trainable


def test_requires_grad_alone_would_have_moved_the_statistics():
    ds = load_dataset("digits", classes=[5, 6, 7, 8, 9])
    model = _cnn(5)
    mean = model.features[0].norm.running_mean.clone()
    for p in model.features.parameters():
        p.requires_grad_(False)
    fit(model, ds, torch.optim.SGD(model.head.parameters(), lr=0.1), epochs=1, batch_size=64,
        generator=torch.Generator().manual_seed(0))
    assert not torch.equal(model.features[0].norm.running_mean, mean)


def test_gradual_unfreezing_turns_groups_on_at_the_listed_epochs():
    ds = load_dataset("digits", classes=[5, 6, 7, 8, 9])
    model = _cnn(5)
    seen = []

    class Watch:
        order = 0

        def before_epoch(self, state):
            seen.append([g.name for g in layer_groups(state.model)
                         if all(p.requires_grad for p in g.params)])

    history = fit(model, ds, torch.optim.Adam(model.parameters()), epochs=4, batch_size=256,
                  callbacks=[Freeze(model, frozen=2, unfreeze_at=[1, 3]), Watch()],
                  generator=torch.Generator().manual_seed(0))
    assert seen == [["head"], ["features.1", "head"], ["features.1", "head"],
                    ["features.0", "features.1", "head"]]
    assert history.unfrozen == {"features.1": 1, "features.0": 3}


def test_discriminative_lrs_go_down_by_lr_mult_per_group():
    groups = param_groups(_cnn(), 0.01, 0.1)
    assert [g["name"] for g in groups] == ["features.0", "features.1", "head"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-4, 1e-3, 1e-2])


def test_a_run_from_a_folder_takes_the_source_and_keeps_discriminative_lrs(source_run):
    folder, src = source_run
    r = Recipe.from_dict({"data": {"name": "digits", "classes": [5, 6, 7, 8, 9]}, "model": MODEL,
                          "transfer": {"from": str(folder), "lr_mult": 0.5, "freeze": 1},
                          "train": {"epochs": 1, "threads": 1, "record_every": 0}})
    out = execute(r, RunContext(keep_model=True))
    assert out.status == "done", out.history.error
    info = out.history.transfer
    assert info["frozen"] == ["features.0"] and info["head"] == "new"
    for k, v in src.weights.items():
        if k.startswith("features.0"):
            assert torch.equal(out.weights[k], v), k  # frozen: still the source's
        if k.startswith("features.1.conv"):
            assert not torch.equal(out.weights[k], v), k  # fine-tuned


def test_the_optimizer_gets_one_group_per_layer_with_its_lr(source_run, monkeypatch):
    folder, _ = source_run
    ex = importlib.import_module("trainwell.execute")

    made = []
    real = ex.build_optimizer

    def spy(name, params, **options):
        opt = real(name, params, **options)
        made.append(opt)
        return opt

    monkeypatch.setattr(ex, "build_optimizer", spy)
    r = Recipe.from_dict({"data": {"name": "digits", "classes": [5, 6, 7, 8, 9]}, "model": MODEL,
                          "optim": {"name": "sgd", "lr": 0.1},
                          "transfer": {"from": str(folder), "lr_mult": 0.5},
                          "train": {"epochs": 1, "threads": 1, "record_every": 0}})
    assert execute(r).status == "done"
    assert [g["initial_lr"] if "initial_lr" in g else g["lr"] for g in made[0].param_groups] == \
        pytest.approx([0.025, 0.05, 0.1])


def test_the_run_id_follows_the_source_weights(source_run, tmp_path):
    folder, src = source_run
    copy = tmp_path / "src"
    copy.mkdir()
    (copy / "recipe.toml").write_text((folder / "recipe.toml").read_text())
    save_file(src.weights, str(copy / "weights.safetensors"))
    base = {"data": {"name": "digits", "classes": [5, 6, 7, 8, 9]}, "model": MODEL,
            "transfer": {"from": str(copy)}}
    first = resolve(Recipe.from_dict(base))
    changed = {k: v + 1 for k, v in src.weights.items()}
    save_file(changed, str(copy / "weights.safetensors"))
    second = resolve(Recipe.from_dict(base))
    assert first.transfer.digest != second.transfer.digest
    assert run_id(first.to_dict()) != run_id(second.to_dict())
    out = execute(first)  # resolved against the old file: the change is caught
    assert out.status == "failed" and "has changed since" in out.history.error


def test_a_source_recipe_is_part_of_the_target_and_trained_when_needed():
    r = Recipe.from_dict({"data": {"name": "digits", "classes": [5, 6, 7, 8, 9]}, "model": MODEL,
                          "transfer": {"from": SOURCE, "freeze": "features"},
                          "train": {"epochs": 1, "threads": 1, "record_every": 0}})
    assert r.transfer.source == Recipe.from_dict(SOURCE).to_dict()
    other = Recipe.from_dict({**r.to_dict(), "transfer": {
        "from": {**SOURCE, "train": {**SOURCE["train"], "epochs": 4}}, "freeze": "features"}})
    assert run_id(other.to_dict()) != run_id(r.to_dict())
    out = execute(r)
    assert out.status == "done", out.history.error
    assert out.history.transfer["frozen"] == ["features.0", "features.1"]


@pytest.mark.parametrize(("table", "key"), [
    ({"freeze": "features"}, "transfer.freeze"),
    ({"from": "/no/such/folder"}, "transfer.from"),
    ({"from": SOURCE, "head": "old"}, "transfer.head"),
    ({"from": SOURCE, "freeze": "everything"}, "transfer.freeze"),
    ({"from": SOURCE, "lr_mult": 0.0}, "transfer.lr_mult"),
    ({"from": SOURCE, "unfreeze_at": [2]}, "transfer.unfreeze_at"),
    ({"from": SOURCE, "weights": "averaged"}, "transfer.weights"),
    ({"from": {"optim": {"name": "sgdd"}}}, "transfer.from.optim.name"),
])
def test_bad_transfer_options_name_their_key(table, key):
    with pytest.raises(ConfigError) as err:
        resolve(Recipe.from_dict({"transfer": table}))
    assert err.value.key == key


def test_a_recipe_is_read_without_reading_its_source_and_the_plan_resolves_it(source_run):
    folder, _ = source_run
    raw = {"data": {"name": "digits", "classes": [5, 6, 7, 8, 9]}, "model": MODEL,
           "transfer": {"from": str(folder)}}
    pure = Recipe.from_dict(raw)
    assert pure.transfer.digest is None  # nothing was read
    planned = plan(pure)
    resolved = Recipe.from_dict(planned.runs[0].recipe)
    assert resolved.transfer.digest == resolve(pure).transfer.digest is not None
    assert planned.runs[0].id == run_id(resolved.to_dict())


def test_more_unfreeze_epochs_than_frozen_groups_is_an_error(source_run):
    folder, _ = source_run
    with pytest.raises(ConfigError, match=r"transfer.unfreeze_at = \[1, 2\]: expected at most 1"):
        resolve(Recipe.from_dict({"data": {"name": "digits", "classes": [5, 6, 7, 8, 9]}, "model": MODEL,
                          "transfer": {"from": str(folder), "freeze": 1, "unfreeze_at": [1, 2]},
                          "train": {"epochs": 3, "threads": 1, "record_every": 0}}))
