"""The doctor's search on a scripted screen (no training): rounds build on the leader, pair it
with the best fix that does not undo it, add Adam's step, and stop when a round finds nothing
better."""

from trainwell.doctor.fixes import Fix
from trainwell.doctor.search import combine, search, then
from trainwell.recipe import Recipe
from trainwell.sweep_variants import merge_variant

BROKEN = {"model": {"name": "mlp", "activation": "sigmoid", "depth": 6},
          "init": {"name": "normal"}, "optim": {"name": "sgd", "lr": 0.05}}


def _run(scores: dict[str, float], rounds: int = 2, limit: int = 4):
    screened: list[list[str]] = []

    def screen(at, fixes):
        screened.append([f.label for f in fixes])
        return [scores.get(f.label, 0.0) for f in fixes]

    pool, leader = search(BROKEN, ["vanishing"], screen=screen,
                          apply=lambda at, f: merge_variant(at, f.variant()),
                          resolve=Recipe.from_dict, symptoms_of=lambda result: [],
                          rank=lambda result: result, limit=limit, rounds=rounds)
    return screened, pool, leader


def test_round_two_builds_on_the_leader_with_adam_and_the_best_compatible_pair():
    scores = {"relu + he_normal": 0.5, "batch_norm": 0.4, "lsuv": 0.45,
              "relu + he_normal; batch_norm; adam lr 0.01": 0.9}
    screened, pool, leader = _run(scores)
    assert screened[0] == ["relu + he_normal", "batch_norm", "lsuv", "glorot_normal"]
    # lsuv sets the init the leader set: the pair is the leader with batch norm
    assert screened[1] == ["relu + he_normal; adam", "relu + he_normal; adam lr 0.01",
                           "relu + he_normal; batch_norm; adam",
                           "relu + he_normal; batch_norm; adam lr 0.01"]
    assert leader.label == "relu + he_normal; batch_norm; adam lr 0.01"
    assert leader.recipe["model"] == {**BROKEN["model"], "activation": "relu", "batch_norm": True}
    assert leader.recipe["init"]["name"] == "he_normal"
    assert leader.recipe["optim"] == {"name": "adam", "lr": 0.01}
    assert len(pool) == 8


def test_the_search_stops_when_a_round_finds_nothing_better():
    screened, pool, leader = _run({"batch_norm": 0.6}, rounds=3)
    assert len(screened) == 2 and leader.label == "batch_norm"
    assert all(label.startswith("batch_norm; ") for label in screened[1])


def test_fixes_that_set_the_same_key_do_not_pair():
    he = Fix("he_normal", "", {"init": {"name": "he_normal"}})
    assert combine(he, Fix("lsuv", "", {"init": {"name": "lsuv"}})) is None
    bn = Fix("batch_norm", "", {"model": {"batch_norm": True}})
    assert combine(he, bn) is bn
    both = then(he, Fix("adam", "", {"optim": {"name": "adam", "lr": 1e-3}}))
    assert both.changes == {"init": {"name": "he_normal"}, "optim": {"name": "adam", "lr": 1e-3}}


def test_a_recipe_screened_before_is_not_screened_again():
    # on top of "...; batch_norm; adam lr 0.01", Adam at 1e-3 is "...; batch_norm; adam", which
    # round 2 screened already
    scores = {"relu + he_normal": 0.5, "relu + he_normal; batch_norm; adam lr 0.01": 0.8}
    screened, pool, leader = _run(scores, rounds=3)
    assert leader.label == "relu + he_normal; batch_norm; adam lr 0.01"
    assert "relu + he_normal; batch_norm; adam" in screened[1]
    assert not any(label.endswith("adam lr 0.01; adam") for labels in screened for label in labels)
    recipes = [s.recipe for s in pool]
    assert all(r not in recipes[:i] for i, r in enumerate(recipes))
