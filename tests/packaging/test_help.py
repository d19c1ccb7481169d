"""Every command's --help says what it does and shows an example; the lists read in one line."""

import re

import pytest
import typer

from trainwell.cli import app, main


def _command_paths(command, path=()):
    """Every command under the CLI's root, as the words that call it (groups included)."""
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield (*path, name)
        yield from _command_paths(sub, (*path, name))


COMMANDS = list(_command_paths(typer.main.get_command(app)))


def test_the_walk_finds_every_registered_command():
    registered = {info.name or info.callback.__name__.replace("_", "-")
                  for info in app.registered_commands}
    registered |= {info.name for info in app.registered_groups}
    assert registered <= {path[0] for path in COMMANDS}
    assert {"train", "compare", "list"} <= registered


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "trainwell")
def test_help_exits_0_with_an_example(path, capsys):
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage:" in out
    assert re.search(r"Example: trainwell\b", out), f"trainwell {' '.join(path)} --help has no example"
    # a flag takes no value: its type column is empty, not <bool>
    assert "<bool>" not in out, f"trainwell {' '.join(path)} --help shows <bool>"


def test_root_help_offers_completion(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--install-completion" in out and "--show-completion" in out and "--version" in out


def test_each_built_in_experiment_takes_one_line_with_its_run_count(capsys):
    from trainwell.experiments import EXPERIMENTS

    assert main(["list", "experiments"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == list(EXPERIMENTS)
    for row, description in zip(rows, EXPERIMENTS.values(), strict=True):
        assert description in row
        assert re.search(r"│\s+\d+ │", row)
