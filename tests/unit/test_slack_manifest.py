"""The Slack app manifest asks for exactly the scopes the code needs: one per Web API method it calls,
and `chat:write.public` (documented: posting in channels the bot has not joined)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: Slack's required bot scope for each Web API method (api.slack.com/methods/<method>).
SCOPE_OF = {"chat.postMessage": "chat:write", "chat.update": "chat:write"}
#: Scopes the README and docs/routing.md document beyond the methods': posting without joining a channel.
DOCUMENTED = {"chat:write.public"}


def _methods_called() -> set[str]:
    source = ROOT / "layers" / "run_notifier" / "run_notifier"
    found: set[str] = set()
    for path in source.rglob("*.py"):
        found |= set(
            re.findall(
                r"[\"']((?:chat|conversations|users|reactions|files|pins|bookmarks)\.[A-Za-z]+)[\"']", path.read_text()
            )
        )
    return found


def test_the_manifest_asks_for_the_scopes_of_every_method_called_and_no_more():
    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    methods = _methods_called()
    assert methods, "no Slack Web API method found in the code: the scan is broken"
    unknown = methods - SCOPE_OF.keys()
    assert not unknown, f"the code calls {sorted(unknown)}: add their scopes to SCOPE_OF and slack/manifest.yml"
    assert scopes == {SCOPE_OF[m] for m in methods} | DOCUMENTED
    assert manifest["features"]["bot_user"]["display_name"]
    routing = (ROOT / "docs" / "routing.md").read_text()
    assert all(f"`{scope}`" in routing for scope in scopes)
