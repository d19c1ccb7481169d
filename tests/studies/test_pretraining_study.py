"""The pre-training control trains the few-label study's network, data and pre-training on
every label, and make docs runs and reports both; the pages hold their results markers."""

from __future__ import annotations

from pathlib import Path

from trainwell.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[2]


def test_the_full_label_control_changes_only_the_labels_and_the_epochs():
    few = {(p["init"]["name"], p["model.activation"]): r
           for p, s, r in load_sweep(ROOT / "studies" / "pretraining.toml").recipes() if s == 0}
    full = load_sweep(ROOT / "studies" / "pretraining_full.toml").recipes()
    assert {r.data.options["labels_fraction"] for _, _, r in full} == {1.0}
    assert len(full) >= 12
    for point, _, r in full:
        twin = few[(point["init"]["name"], point["model.activation"])]
        assert twin.data.options["labels_fraction"] == 0.1
        assert r.model == twin.model and r.init == twin.init and r.optim == twin.optim
        assert {**r.data.options, "labels_fraction": 0.1} == twin.data.options
        assert r.train.epochs * 4000 > twin.train.epochs * 400  # more steps, not fewer


def test_make_docs_runs_and_reports_every_new_study():
    makefile = (ROOT / "Makefile").read_text()
    for study, folder in (("pretraining_full", "pretraining-full"),
                          ("deep_relu_converge", "deep_relu_converge")):
        assert f"trainwell compare studies/{study}.toml" in makefile
        assert f" {folder} " in makefile
    assert "studies/regularize_pick.py runs/regularize --docs docs" in makefile
    pages = {"pretraining.md": ["pretraining", "pretraining-full"],
             "deep-relu.md": ["deep_relu", "deep_relu_converge"],
             "regularization.md": ["regularize", "regularize-validation"],
             "transfer.md": ["transfer"], "ensembles.md": ["ensembles"]}
    for page, markers in pages.items():
        text = (ROOT / "docs" / page).read_text()
        assert "## Faithful?" in text, page
        for marker in markers:
            assert f"<!-- results: {marker} -->" in text, (page, marker)
