"""Shell completion: the scripts typer writes, its completion protocol, and bash running them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from trainwell.cli import app, main

COMMANDS = sorted(typer.main.get_command(app).commands)


@pytest.fixture
def no_shell_detection(monkeypatch):
    """The shell is the one named on the command line, not the one running the tests."""
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")


@pytest.mark.parametrize(("shell", "needle"), [
    ("bash", "complete -o default -F _trainwell_completion trainwell"),
    ("zsh", "#compdef trainwell"),
    ("fish", "complete --command trainwell"),
])
def test_show_completion_prints_the_shells_script(shell, needle, no_shell_detection, capsys):
    assert main(["--show-completion", shell]) == 0
    out = capsys.readouterr().out
    assert needle in out
    assert f"_TRAINWELL_COMPLETE=complete_{shell}" in out


def test_install_completion_writes_the_script_and_sources_it(no_shell_detection, monkeypatch,
                                                             tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["--install-completion", "bash"]) == 0
    script = tmp_path / ".bash_completions" / "trainwell.sh"
    assert "_trainwell_completion" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    assert "bash completion installed" in capsys.readouterr().out


def _complete(monkeypatch, capsys, words: str) -> list[str]:
    monkeypatch.setenv("_TRAINWELL_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    assert main([]) == 0
    return capsys.readouterr().out.split()


@pytest.mark.parametrize("name", COMMANDS)
def test_a_commands_prefix_completes_to_it(name, monkeypatch, capsys):
    prefix = name[:2]
    assert _complete(monkeypatch, capsys, f"trainwell {prefix}") == [
        c for c in COMMANDS if c.startswith(prefix)]


def test_options_of_a_command_complete(monkeypatch, capsys):
    assert _complete(monkeypatch, capsys, "trainwell compare --se") == ["--seeds", "--set"]
    assert "--out" in _complete(monkeypatch, capsys, "trainwell train --")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_runs_the_script_and_completes_a_command(tmp_path):
    """The script from --show-completion, sourced in bash, completes through the real command."""
    bindir = Path(sys.executable).parent
    if not (bindir / "trainwell").exists():
        pytest.skip(f"no trainwell command beside {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("_TRAINWELL")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    script = subprocess.run(["trainwell", "--show-completion", "bash"], env={
        **env, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
        capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    (tmp_path / "trainwell.sh").write_text(script)
    probe = ('source ./trainwell.sh; COMP_WORDS=(trainwell comp); COMP_CWORD=1; '
             '_trainwell_completion trainwell; printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["compare"]
