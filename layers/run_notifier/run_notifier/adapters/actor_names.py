"""Actor display names (`username/name`), fetched once per Actor and cached per container."""

from __future__ import annotations

from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.adapters.memo import Memo
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import ApifyError, log
from run_notifier.domain.text import clean_text

#: A name is nice to have: spend at most this much of the budget on it.
NAME_LOOKUP_SECS = 5.0
#: Characters of a name as messages show it (Apify's own limit on a display name is far lower).
MAX_NAME = 200


class CachedActorNames:
    """Implements `ports.ActorNames`; a lookup that fails is not cached, so a later run may resolve it."""

    def __init__(self, apify: ApifyClient) -> None:
        self._apify = apify
        self._names: Memo[str] = Memo()

    def name_of(self, actor_id: str, deadline: Deadline) -> str:
        """`username/name` of the Actor, cached per container; the ID itself when Apify cannot say."""
        try:
            return self._names.get(actor_id, lambda: self._fetch(actor_id, deadline))
        except ApifyError as error:
            log.info("Actor name not available, using its ID", extra={"actor_id": actor_id, "reason": str(error)})
            return actor_id

    def _fetch(self, actor_id: str, deadline: Deadline) -> str:
        actor = self._apify.get_actor(actor_id, deadline.within(NAME_LOOKUP_SECS))
        username, name = actor.get("username"), actor.get("name")
        shown = f"{username}/{name}" if username and name else str(name or actor_id)
        return clean_text(shown, MAX_NAME)
