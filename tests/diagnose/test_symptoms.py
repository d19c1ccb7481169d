"""The live symptom rules on windows written by hand: each fires on its pattern and not on the
healthy one next to it."""

import math

from trainwell.diagnose.symptoms import (
    ALIVE_SHARE,
    DEAD_SHARE,
    LOSS_RISE,
    START_LOSS,
    LayerWindow,
    Window,
    find_symptoms,
)


def _layers(dead: float = 0.0, std: float = 1.0) -> list[LayerWindow]:
    return [LayerWindow("hidden.0", "relu", grad=0.1, weight=1.0, update=1e-3, dead=dead),
            LayerWindow("hidden.1", "relu", grad=0.1, weight=1.0, update=1e-3, dead=dead),
            LayerWindow("head", "linear", grad=0.1, weight=1.0, update=1e-3, act_std=std)]


def _kinds(windows: list[Window], classes: int | None = 10) -> list[str]:
    return [v.kind for v in find_symptoms(windows, classes=classes)]


def test_a_loss_far_above_an_even_guess_at_the_start_is_exploding_activations():
    even = math.log(10)
    big = find_symptoms([Window(0, 1.1 * START_LOSS * even, None, _layers(std=40.0))], classes=10)
    assert [v.kind for v in big] == ["exploding"]
    assert big[0].layer == "head" and big[0].numbers["output_std"] == 40.0
    assert _kinds([Window(0, 0.9 * START_LOSS * even, None, _layers())]) == []
    # only before the first step, and only where the classes are known
    assert _kinds([Window(25, 10 * even, None, _layers())]) == []
    assert _kinds([Window(0, 10 * even, None, _layers())], classes=None) == []


def test_a_loss_that_climbs_back_up_is_oscillating():
    falling = [Window(0, 2.3, None, _layers()), Window(25, 1.0, 0.1, _layers()),
               Window(50, 1.0 + 0.9 * LOSS_RISE * 2.3, 0.1, _layers())]
    assert "oscillating" not in _kinds(falling)
    rising = [*falling[:2], Window(50, 1.0 + 1.1 * LOSS_RISE * 2.3, 0.1, _layers())]
    found = find_symptoms(rising, classes=10)
    assert [v.kind for v in found] == ["oscillating"]
    assert found[0].numbers["lowest"] == 1.0


def test_units_that_die_while_training_name_the_learning_rate_dead_from_the_start_do_not():
    killed = [Window(0, 2.3, None, _layers(dead=0.9 * ALIVE_SHARE)),
              Window(25, 2.2, 0.1, _layers(dead=DEAD_SHARE)), Window(50, 2.1, 0.1, _layers(dead=0.9))]
    assert _kinds(killed) == ["dying_relu", "lr_high"]
    born_dead = [Window(0, 2.3, None, _layers(dead=0.9)), *killed[1:]]
    assert _kinds(born_dead) == ["dying_relu"]


def test_each_symptom_is_named_once_per_window():
    blown = [Window(0, 1e4, None, [LayerWindow("a", "relu", grad=100.0, weight=1.0),
                                   LayerWindow("head", "linear", grad=1.0, weight=1.0)])]
    assert _kinds(blown) == ["exploding"]
