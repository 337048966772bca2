"""The docs say what the code does: the environment table matches the configuration's sections,
and every link between the docs resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from run_notifier.config import DIGEST_VARIABLES, INTAKE_VARIABLES, SWEEPER_VARIABLES, VARIABLES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = (ROOT / "docs" / "deploy-and-operate.md").read_text()
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]{2,})`")


def _environment_table() -> str:
    start = DEPLOY.index("### Function environment")
    section = DEPLOY[start : DEPLOY.index("###", start + 10)]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_the_environment_table_names_every_variable_the_watcher_reads():
    named = set(VARIABLE.findall(_environment_table()))
    assert {v.name for v in VARIABLES} - named == set()


def test_the_docs_name_no_variable_the_code_does_not_read():
    every = {v.name for v in (*VARIABLES, *INTAKE_VARIABLES, *SWEEPER_VARIABLES, *DIGEST_VARIABLES)}
    named = set(VARIABLE.findall(_environment_table()))
    assert named - every == set()
    for name in (
        "SWEEP_LOOKBACK_MINUTES",
        "SWEEP_OVERLAP_SECONDS",
        "SWEEP_ACTOR_IDS",
        "SWEEP_TASK_IDS",
        "SWEEP_SCHEDULES_ENABLED",
        "SCHEDULE_GRACE_SECONDS",
    ):
        assert f"`{name}`" in DEPLOY


def test_the_readme_is_the_front_door():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    assert len(readme.splitlines()) <= 220


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))])
def test_every_relative_link_resolves(page):
    path = ROOT / page
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{page} links to {target}, which is not there"
