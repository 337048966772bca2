"""Build a value once, on first use, under a lock: the one lazy mechanism of the package.

Used for what a cold start may not need (clients and providers of AWS services that only
the finishing side calls) and for per-container caches (Actor names). A factory that raises
is not cached, so the next call tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    """Values by key, each built once by the factory given on its first lookup."""

    def __init__(self) -> None:
        self._values: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, factory: Callable[[], T]) -> T:
        """The value for ``key``, made once by ``factory`` (thread-safe)."""
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = factory()  # outside the lock: a slow build must not block other keys
        with self._lock:
            return self._values.setdefault(key, value)


class Lazy(Generic[T]):
    """One value, built on first `get()`."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._memo: Memo[T] = Memo()

    def get(self) -> T:
        """The value, made on first use (thread-safe)."""
        return self._memo.get(None, self._factory)

    __call__ = get
