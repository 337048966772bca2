"""What a destination kind's route target may hold: routing checks a routes document against it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["TargetSchema"]


class TargetSchema(NamedTuple):
    """The keys a destination kind's route target accepts (routing validates against it)."""

    keys: frozenset[str]
    required_one_of: frozenset[str]
    #: Keys whose value is a list of non-empty strings (every other value is a non-empty string).
    list_keys: frozenset[str] = frozenset()
    #: Keys whose value is a JSON object (checked further by `check`).
    object_keys: frozenset[str] = frozenset()
    #: Keys whose value is true or false.
    bool_keys: frozenset[str] = frozenset()
    #: The kind pages someone: a route's `quietHours` may hold it by naming the kind with true.
    pages: bool = False
    #: The kind's own rules on a target's values: what is wrong, or None.
    check: Callable[[Mapping[str, Any]], str | None] | None = None
