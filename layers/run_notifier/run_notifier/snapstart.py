"""Restore-safety for Lambda SnapStart: what one snapshot must not hand to every copy restored from it.

With SnapStart (`SnapStartEnabled`) Lambda initialises a function once, when a version is published,
and resumes every new execution environment from a snapshot of that memory. Whatever init left
behind is then shared by all of them. This code's init opens no connection and reads no secret
(the HTTP pool, the secrets provider and the finishing side are built on first use), so what is
left is made fresh after each restore:

* the `random` module's state (the Apify client's retry jitter): without a reseed every restored
  copy would draw the same backoffs and retry in step;
* the HTTP connection pool, in case anything used it during init (a socket from the snapshot is
  dead in the copy).

Hooks go through AWS's `snapshot_restore_py`, which the Python managed runtime provides; where it is
absent (tests, local runs, SnapStart off) registering is a no-op, and a restored copy never exists.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_registered: list[Callable[[], None]] = []


def on_restore(reset: Callable[[], None]) -> bool:
    """Run ``reset`` after every restore from a snapshot; True when the runtime took the hook."""
    _registered.append(reset)
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(reset)
    return True


def registered() -> tuple[Callable[[], None], ...]:
    """The resets registered so far (tests run them as a restore would)."""
    return tuple(_registered)


def _reseed() -> None:
    random.seed()  # from os.urandom: each restored copy its own jitter


on_restore(_reseed)
