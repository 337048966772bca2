"""Actor display names (`username/name`), fetched once per Actor and cached per container."""

from __future__ import annotations

import threading

from run_notifier.apify_client import ApifyClient, ApifyError
from run_notifier.observability import logger
from run_notifier.timebudget import Deadline


class ActorNames:
    def __init__(self, apify: ApifyClient) -> None:
        self._apify = apify
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def name_of(self, actor_id: str, deadline: Deadline) -> str:
        with self._lock:
            cached = self._cache.get(actor_id)
        if cached is not None:
            return cached
        try:
            # A name is nice to have: spend at most 5 s of the budget on it.
            actor = self._apify.get_actor(actor_id, Deadline.after(min(5.0, deadline.left())))
        except ApifyError as error:
            logger.info("Actor name not available, using its ID", extra={"actor_id": actor_id, "reason": str(error)})
            return actor_id  # not cached: a later run may resolve it
        username, name = actor.get("username"), actor.get("name")
        resolved = f"{username}/{name}" if username and name else str(name or actor_id)
        with self._lock:
            self._cache[actor_id] = resolved
        return resolved
