import math

import pytest
import torch

from trainwell.data.dataset import Dataset, DatasetMeta
from trainwell.errors import ConfigError
from trainwell.loop import fit
from trainwell.optim import (
    SCHEDULE_DESCRIPTIONS,
    SCHEDULES,
    LRSchedule,
    make_schedule,
    schedule_options,
)


def per_step(name, *, base_lr=0.1, total=20, **options):
    """The schedule with one unit per step, as a list of its lr values."""
    lr = make_schedule(name, base_lr=base_lr, total_steps=total, steps_per_epoch=1, per="step",
                       **options)
    return [lr(s) for s in range(total)]


def cos_half(start, end, p):
    return end + (start - end) * (1 + math.cos(math.pi * p)) / 2


HAND = [
    ("constant", {}, {0: 0.1, 19: 0.1}),
    ("step", {"step_size": 3, "gamma": 0.5},
     {0: 0.1, 2: 0.1, 3: 0.05, 6: 0.025, 19: 0.1 * 0.5 ** 6}),
    ("exponential", {"gamma": 0.9}, {0: 0.1, 5: 0.1 * 0.9 ** 5}),
    ("inverse_time", {"decay": 0.5}, {0: 0.1, 4: 0.1 / 3}),
    ("cosine", {"min_lr": 0.01}, {0: 0.1, 10: 0.055, 19: cos_half(0.1, 0.01, 19 / 20)}),
    ("cosine_restarts", {"t0": 2, "t_mult": 2},
     {0: 0.1, 1: 0.05, 2: 0.1, 3: cos_half(0.1, 0, 1 / 4), 4: 0.05, 6: 0.1, 10: 0.05, 14: 0.1}),
    ("one_cycle", {"pct_start": 0.3, "div_factor": 10.0, "final_div_factor": 100.0},
     {0: 0.01, 3: cos_half(0.01, 0.1, 0.5), 6: 0.1, 12: cos_half(0.1, 1e-4, 6 / 13), 19: 1e-4}),
]


@pytest.mark.parametrize(("name", "options", "expected"), HAND, ids=[h[0] for h in HAND])
def test_schedule_values_match_the_formula(name, options, expected):
    values = per_step(name, **options)
    for step, value in expected.items():
        assert values[step] == pytest.approx(value, rel=1e-12, abs=1e-15), step


def test_one_cycle_rises_then_falls():
    values = per_step("one_cycle", total=100)
    peak = values.index(max(values))
    assert peak == 30 and max(values) == pytest.approx(0.1)
    assert all(a < b for a, b in zip(values[:peak], values[1:peak + 1], strict=False))
    assert all(a > b for a, b in zip(values[peak:-1], values[peak + 1:], strict=False))
    assert values[0] == pytest.approx(0.1 / 25) and values[-1] == pytest.approx(0.1 / 25 / 1e4)


def test_linear_warmup_precedes_the_schedule_which_then_spans_the_rest():
    values = per_step("cosine", base_lr=1.0, total=7, warmup=3)
    assert values[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert values[5] == pytest.approx(0.5)  # cosine over the 4 remaining steps, halfway
    assert values[6] == pytest.approx(cos_half(1.0, 0.0, 3 / 4))


def test_per_epoch_schedules_are_constant_within_an_epoch():
    lr = make_schedule("exponential", base_lr=1.0, total_steps=38, steps_per_epoch=4, gamma=0.5)
    values = [lr(s) for s in range(38)]
    assert values[:4] == [1.0] * 4 and values[4:8] == [0.5] * 4
    assert values[36:] == [0.5 ** 9] * 2  # the last, partial epoch is the tenth
    warm = make_schedule("step", base_lr=0.3, total_steps=40, steps_per_epoch=4, warmup=2,
                         step_size=3)
    assert [warm(s) for s in (0, 3, 4, 7, 8, 19, 20, 39)] == pytest.approx(
        [0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.03, 0.003])


def test_every_schedule_stays_positive_and_at_most_the_lr():
    assert set(SCHEDULE_DESCRIPTIONS) == set(SCHEDULES)
    for name in SCHEDULES:
        lr = make_schedule(name, base_lr=0.1, total_steps=300, steps_per_epoch=10, warmup=2)
        values = [lr(s) for s in range(300)]
        assert all(0 < v <= 0.1 + 1e-15 for v in values), name
        assert max(values) == pytest.approx(0.1), name


@pytest.mark.parametrize(("name", "options", "key"), [
    ("cosin", {}, "schedule.name"),
    ("step", {"gamma": 0.0}, "schedule.gamma"),
    ("step", {"gamma": -0.5}, "schedule.gamma"),
    ("step", {"step_size": 0}, "schedule.step_size"),
    ("step", {"gama": 0.5}, "schedule.gama"),
    ("exponential", {"gamma": 1.5}, "schedule.gamma"),
    ("inverse_time", {"decay": 0}, "schedule.decay"),
    ("cosine", {"min_lr": -1.0}, "schedule.min_lr"),
    ("cosine", {"min_lr": 0.5}, "schedule.min_lr"),
    ("cosine_restarts", {"t0": 0}, "schedule.t0"),
    ("cosine_restarts", {"t_mult": 1.5}, "schedule.t_mult"),
    ("one_cycle", {"pct_start": 1.0}, "schedule.pct_start"),
    ("one_cycle", {"div_factor": 0.5}, "schedule.div_factor"),
    ("constant", {"per": "batch"}, "schedule.per"),
    ("constant", {"warmup": -1}, "schedule.warmup"),
    ("constant", {"warmup": 10}, "schedule.warmup"),
])
def test_bad_schedules_raise_one_clear_error(name, options, key):
    with pytest.raises(ConfigError) as info:
        make_schedule(name, base_lr=0.1, total_steps=100, steps_per_epoch=10, **options)
    assert info.value.key == key
    assert key in str(info.value)


def test_unknown_names_suggest_the_close_one():
    with pytest.raises(ConfigError, match=r"did you mean 'cosine'\?"):
        schedule_options("cosin", {})
    with pytest.raises(ConfigError, match=r"did you mean 'gamma'\?"):
        schedule_options("step", {"gama": 0.5})


def test_schedule_options_fill_defaults_for_the_recipe():
    assert schedule_options("step", {"per": "step"}) == {
        "per": "step", "warmup": 0, "step_size": 30, "gamma": 0.1}
    assert schedule_options("constant", {}) == {"per": "epoch", "warmup": 0}


def tiny_dataset(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return Dataset(x, y, x[:8], y[:8], x[:8], y[:8], DatasetMeta("tiny", (1, 4), 3))


class LrSeen:
    """Records the lr the optimizer actually uses at each step."""

    order = 10

    def __init__(self):
        self.seen = []

    def after_backward(self, state):
        self.seen.append(state.optimizer.param_groups[0]["lr"])


def test_lr_schedule_callback_drives_the_optimizer_in_fit():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    spe, epochs = 4, 3
    schedule = make_schedule("step", base_lr=0.1, total_steps=spe * epochs, steps_per_epoch=spe,
                             step_size=1, gamma=0.5)
    seen = LrSeen()
    history = fit(model, tiny_dataset(), opt, epochs=epochs, batch_size=10,
                  callbacks=[seen, LRSchedule(schedule)],
                  generator=torch.Generator().manual_seed(0))
    expected = [0.1] * 4 + [0.05] * 4 + [0.025] * 4
    assert history.status == "done"
    assert seen.seen == pytest.approx(expected)
    assert history.step_lr == pytest.approx(expected)
    assert [e["lr"] for e in history.epochs] == pytest.approx([0.1, 0.05, 0.025])


def test_a_named_lr_schedule_is_built_from_the_run_it_joins():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    cb = LRSchedule("cosine", per="step", warmup=3, min_lr=0.02)
    history = fit(model, tiny_dataset(), opt, epochs=2, batch_size=8, callbacks=[cb])
    expected = [make_schedule("cosine", base_lr=0.2, total_steps=10, steps_per_epoch=5,
                              per="step", warmup=3, min_lr=0.02)(s) for s in range(10)]
    assert history.step_lr == pytest.approx(expected)
    assert expected[:3] == pytest.approx([0.05, 0.1, 0.15]) and expected[3] == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="schedule.min_lr"):
        LRSchedule("cosine", min_lr=-1.0)


def test_lr_schedule_writes_the_optimizer_only_when_the_value_changes():
    class Groups(list):
        writes = 0

    class Group(dict):
        def __setitem__(self, key, value):
            Groups.writes += 1
            super().__setitem__(key, value)

    class State:
        def __init__(self):
            self.optimizer = type("Opt", (), {"param_groups": Groups([Group(lr=1.0)])})()
            self.history = type("H", (), {})()
            self.step = 0

    state = State()
    cb = LRSchedule(make_schedule("step", base_lr=1.0, total_steps=20, steps_per_epoch=5,
                                  step_size=2))
    cb.before_fit(state)
    for step in range(20):
        state.step = step
        cb.before_step(state)
        cb.after_step(state)
    assert Groups.writes == 2  # epoch 0 (first value) and epoch 2 (the drop)
    assert len(state.history.step_lr) == 20
