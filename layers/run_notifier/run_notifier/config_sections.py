"""Building blocks of configuration: a variable, its parser, and a section of related variables.

A section is declared once and composed into each function that needs it (config.py), or by a
destination kind for its own variables (destinations/*). A parser raises ValueError saying what
is wrong; the loader adds the variable's name and never shows a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from run_notifier.adapters.secret_store import Secret, is_signing_secret
from run_notifier.domain.statuses import NOTIFIABLE, status_name


class ConfigError(ValueError):
    """The environment is not usable; the message names the variable."""


REQUIRED = "<required>"


class Variable(NamedTuple):
    """One environment variable: its name, its parser and its default (REQUIRED, None or a text the parser reads)."""

    name: str
    parse: Callable[[str], Any]
    #: The raw default; None: optional, absent means None. REQUIRED: must be set.
    default: str | None

    @property
    def field(self) -> str:
        """Its name in a settings object: the variable's name in lower case."""
        return self.name.lower()


class Section(NamedTuple):
    """Variables that belong together, read as one (a kind's or a function's share of the environment)."""

    variables: tuple[Variable, ...]
    #: Variables that hold a URL: https, or plain http to loopback where that is allowed.
    urls: tuple[str, ...] = ()
    #: Rules across the section's values: what is wrong (naming the variables), or None.
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    #: What the values become (a NamedTuple with a field per variable); None: a plain dict.
    model: Callable[..., Any] | None = None


def text(raw: str) -> str:
    """Any text, stripped."""
    return raw


def secret(raw: str) -> Secret:
    """A secret value, never shown (`Secret`), and known to the log scrubber from now on."""
    return Secret(raw)


def integer(low: int, high: int) -> Callable[[str], int]:
    """A parser of whole numbers within [low, high]."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, got {raw[:40]!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def seconds_list(low: int, high: int) -> Callable[[str], tuple[int, ...]]:
    """A parser of comma-separated seconds, each within [low, high]."""

    def parse(raw: str) -> tuple[int, ...]:
        try:
            values = tuple(int(part) for part in raw.split(",") if part.strip())
        except ValueError:
            raise ValueError(f"must be comma-separated whole seconds, got {raw[:40]!r}") from None
        if not values:
            raise ValueError("must list at least one value")
        if any(not low <= value <= high for value in values):
            raise ValueError(f"entries must be {low}..{high} seconds, got {raw[:40]!r}")
        return values

    return parse


def statuses(raw: str) -> frozenset[str]:
    """Run statuses, comma-separated, each a terminal status or a watcher outcome."""
    named = frozenset(status_name(part) for part in raw.split(",") if part.strip())
    unknown = named - NOTIFIABLE
    if unknown:
        raise ValueError(f"has unknown statuses {sorted(unknown)}; allowed: {sorted(NOTIFIABLE)}")
    return named


def boolean(raw: str) -> bool:
    """true/false (also 1/0, yes/no)."""
    value = raw.lower()
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f'must be "true" or "false" (or 1 / 0), got {raw[:20]!r}')
    return value in ("true", "1")


def signing_secret(raw: str) -> Secret:
    """A Standard Webhooks secret: `whsec_` and base64 (checked here, so signing cannot fail later)."""
    if not is_signing_secret(raw):
        raise ValueError("must be a Standard Webhooks secret: whsec_ followed by base64 (the value is not shown)")
    return Secret(raw)


def secret_with_prefix(prefix: str, what: str) -> Callable[[str], Secret]:
    """A plain secret that must start with ``prefix`` (a Slack bot token's ``xox``, say)."""

    def parse(raw: str) -> Secret:
        if not raw.startswith(prefix):
            raise ValueError(f"must be {what}; the value is not shown")
        return Secret(raw)

    return parse


def ids(raw: str) -> frozenset[str]:
    """Comma-separated Apify IDs (or `username~name`)."""
    found = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(i for i in found if not i.replace("~", "").replace("-", "").replace("_", "").isalnum())
    if bad:
        raise ValueError(f"has entries that are not Apify IDs: {bad[:3]}")
    return found


def schedule_choice(raw: str) -> bool | frozenset[str]:
    """`false` (none), `true` (every schedule) or comma-separated schedule IDs or names."""
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return ids(raw)


def arns(raw: str) -> frozenset[str]:
    """Comma-separated ARNs (CloudFormation's `!Join [",", list]`); empty entries dropped."""
    found = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(a for a in found if not a.startswith("arn:"))
    if bad:
        raise ValueError(f"has entries that are not ARNs: {bad[:3]}")
    return found


def one_of_needed(values: Mapping[str, Any], name: str, *alternatives: str, why: str) -> str | None:
    """``name`` is set but none of ``alternatives``: the message names them all."""
    if values.get(name.lower()) and not any(values.get(a.lower()) for a in alternatives):
        return f"{name} needs {' or '.join(alternatives)} {why}"
    return None
