"""The report in a real browser: its script runs to the end, and it renders to a picture."""

import shutil
import subprocess

import pytest

from trainwell.report.html import write_report

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path, *args):
    profile = tmp_path / "profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def test_dom_after_scripts_ran(two_axis_store, folder, tmp_path):
    _, ids = two_axis_store
    path = write_report(folder)
    dom = chromium(tmp_path, "--dump-dom", path.resolve().as_uri()).stdout
    assert 'data-rendered="yes"' in dom
    for rid in ids:
        assert rid in dom
    assert "he_normal · relu" in dom


def test_screenshot_is_a_png(two_axis_store, folder, tmp_path):
    path = write_report(folder)
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", path.resolve().as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
