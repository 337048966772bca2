"""SnapStart restore-safety: what a snapshot hands every restored copy is made fresh by the hooks."""

from __future__ import annotations

import importlib
import random
import sys
import types

from run_notifier import snapstart
from run_notifier.adapters.http_client import HttpClient


def test_hooks_go_to_the_runtimes_library_when_it_is_there():
    taken = []
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_after_restore = taken.append  # type: ignore[attr-defined]
    real = sys.modules.get("snapshot_restore_py")
    sys.modules["snapshot_restore_py"] = fake
    try:
        reloaded = importlib.reload(snapstart)
        assert [hook.__name__ for hook in taken] == ["_reseed"]  # registered at import
        assert reloaded.on_restore(lambda: None) is True
        assert len(taken) == 2
    finally:
        _put_back(real)


def _put_back(real: types.ModuleType | None) -> None:
    if real is None:
        sys.modules.pop("snapshot_restore_py", None)
    else:
        sys.modules["snapshot_restore_py"] = real
    importlib.reload(snapstart)


def test_without_the_runtimes_library_registering_is_a_no_op():
    real = sys.modules.get("snapshot_restore_py")
    sys.modules["snapshot_restore_py"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        assert snapstart.on_restore(lambda: None) is False
    finally:
        _put_back(real)


def test_a_restore_reseeds_random_so_copies_do_not_retry_in_step():
    """Two copies restored from one snapshot start with the same random state; after the hooks they differ."""
    random.seed(42)  # the state the snapshot holds
    state = random.getstate()
    draws = []
    for _ in range(2):  # two restored copies
        random.setstate(state)
        for reset in snapstart.registered():
            if reset.__name__ == "_reseed":
                reset()
        draws.append([random.random() for _ in range(3)])
    assert draws[0] != draws[1]


def test_a_restore_drops_the_pooled_connections():
    http = HttpClient(pool_size=2)
    http._pool.connection_from_url("http://127.0.0.1:9/")  # a pool as a request during init would leave
    assert len(http._pool.pools) == 1
    http.reset()
    assert len(http._pool.pools) == 0
