"""Destination kinds are plugins: the registry finds them by what they declare, and nothing
outside a kind's own module names it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from run_notifier import destinations
from run_notifier.config import load_settings
from run_notifier.destinations.context import RunningAnnouncer
from run_notifier.domain.ports import Limits, Traits

PACKAGE = Path(destinations.__file__).parent
LAYER = PACKAGE.parent

KIND_MODULE = """
from run_notifier.config_sections import Section, Variable, text
from run_notifier.domain.ports import TargetSchema

KIND = "carrierPigeon"
SETTINGS = Section((Variable("PIGEON_LOFT", text, None),))
SCHEMA = TargetSchema(keys=frozenset({"loft"}), required_one_of=frozenset({"loft"}))


def default_target(section):
    return {"loft": section["pigeon_loft"]} if section["pigeon_loft"] else None


def build(target, context):
    raise NotImplementedError
"""


def _kinds_declared_in_the_tree() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "KIND" for t in node.targets):
                found.add(ast.literal_eval(node.value))
    return found


def test_the_registry_holds_every_kind_the_package_declares():
    assert set(destinations.KINDS) == _kinds_declared_in_the_tree()
    assert {"slack", "webhook", "eventbridge", "followUp", "teams", "discord"} <= set(destinations.KINDS)


def test_a_new_module_is_found_without_being_named(tmp_path, monkeypatch):
    (tmp_path / "carrier_pigeon.py").write_text(KIND_MODULE)
    monkeypatch.setattr(destinations, "__path__", [*destinations.__path__, str(tmp_path)])
    try:
        found = destinations._discover()
        assert "carrierPigeon" in found
        assert found["carrierPigeon"].SCHEMA.keys == frozenset({"loft"})
    finally:
        sys.modules.pop("run_notifier.destinations.carrier_pigeon", None)


def _string_constants(path: Path) -> set[str]:
    return {
        n.value
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


OUTSIDE_DESTINATIONS = sorted(p for p in LAYER.rglob("*.py") if PACKAGE not in p.parents and p.parent != PACKAGE)


@pytest.mark.parametrize("module", OUTSIDE_DESTINATIONS, ids=lambda p: str(p.relative_to(LAYER)))
def test_no_module_outside_destinations_names_a_kind(module):
    named = _string_constants(module) & set(destinations.KINDS)
    assert not named, f"{module.relative_to(LAYER)} names destination kinds {sorted(named)}"


def test_the_kind_check_covers_the_whole_package():
    covered = {p.relative_to(LAYER).parts[0] for p in OUTSIDE_DESTINATIONS}
    assert {"domain", "adapters", "wiring.py", "config.py", "sqs_handler.py"} <= covered
    assert len(OUTSIDE_DESTINATIONS) > 60


def _getattr_on_a_destination(path: Path) -> list[int]:
    """Lines where `getattr`/`hasattr` asks something of a destination object (by its variable's name)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"getattr", "hasattr"} and node.args:
            target = ast.unparse(node.args[0])
            if any(word in target for word in ("destination", "built", "inner", "_d", "chosen")) or target == "d":
                lines.append(node.lineno)
    return lines


def test_nothing_looks_up_a_destinations_behaviour_by_name():
    found = {str(p.relative_to(LAYER)): _getattr_on_a_destination(p) for p in LAYER.rglob("*.py")}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_every_kind_declares_its_traits_and_limits_on_its_class():
    import run_notifier.destinations.slack.bot
    import run_notifier.destinations.slack.webhook_mode  # noqa: F401  (built lazily: imported here to be seen)
    from run_notifier.destinations.rendering import Rendering

    classes = [c for c in _subclasses(Rendering) if "kind" in vars(c)]
    assert {c.kind for c in classes} >= set(destinations.KINDS)
    for cls in classes:
        assert isinstance(cls.traits, Traits), cls
        assert isinstance(cls.limits, Limits), cls


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_the_watcher_imports_no_destination():
    tree = ast.parse((LAYER / "domain" / "watcher.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(m.startswith("run_notifier.destinations") for m in imported)


def test_a_kind_can_announce_running_only_where_its_settings_allow():
    base = {"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"}
    assert not destinations.may_announce_running(load_settings(base).destinations)
    made_up = "-".join(("xoxb", "made", "up", "for", "this", "test"))  # no token-shaped literal in the tree
    bot = load_settings({**base, "SLACK_BOT_TOKEN": made_up})
    assert destinations.may_announce_running(bot.destinations)


def test_capabilities_are_asked_of_what_is_built():
    from run_notifier.destinations.slack.bot import SlackBotDestination
    from run_notifier.destinations.teams import TeamsDestination

    assert issubclass(SlackBotDestination, RunningAnnouncer)
    assert not issubclass(TeamsDestination, RunningAnnouncer)
