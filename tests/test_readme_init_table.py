"""The README's init table is the one `make docs` writes (docs/init-table.md), cell for cell,
and the README says how long `make demo` took and on what load, not a time nobody measured."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _tables(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append("\n".join(current) + "\n")
            current = []
    return blocks + (["\n".join(current) + "\n"] if current else [])


def test_the_readme_shows_the_generated_init_table():
    generated = (ROOT / "docs" / "init-table.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    main_job = readme.split("## The main job", 1)[1].split("\n## ", 1)[0]
    assert _tables(main_job)[0] == generated
    assert generated.startswith("| test acc (%): init \\ model.activation |")


def test_the_readme_states_the_demo_time_with_the_load_it_was_measured_at():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    main_job = readme.split("## The main job", 1)[1].split("\n## ", 1)[0]
    timing = re.search(r"`make demo` took (\d+) s on (\d{4}-\d\d-\d\d)", main_job)
    assert timing, "the demo's time is stated as measured, with the date"
    assert "load average" in main_job and "thread" in main_job
    assert "about 45 s" not in readme
