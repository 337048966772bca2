"""Arm push for a run: its ad-hoc Apify webhook to the intake (`ports.PushArming`).

One webhook per run and deployment: the `idempotencyKey` is derived from the intake's URL
and the run ID, so a message delivered three times (or a retried create whose answer was
lost) finds the webhook made the first time. The intake token goes in `headersTemplate`,
as `make enroll` does; neither it nor the Apify token is ever logged.

Creates are paced across containers by a shared budget (adapters/arming_budget.py): a run that finds
this second's spent is read now and armed on its next look, never retried into Apify's limit. An
Actor whose runs saturate the creates gets one Actor-level webhook (`arm_actor`) for all of them.

After Apify refuses arming for want of permission (401/403), this container stops asking for
`REFUSAL_PAUSE_SECS` and logs the reason once: a token without webhook rights would otherwise
cost one refused call per run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.adapters.apify_webhooks import key_of, webhook_spec
from run_notifier.adapters.arming_budget import ArmingBudget
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.secret_store import SecretSource, SecretUnavailable
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import (
    ApifyAuthError,
    ApifyRequestError,
    ApifyUnavailable,
    ArmingPaced,
    RunNotFound,
    log,
)
from run_notifier.domain.push import ADHOC_EVENT_TYPES, CREATED_EVENT, PushArmed, PushMode

#: What an Actor-level webhook asks for (as `make enroll`'s): a run starting, ending, coming back.
ACTOR_EVENT_TYPES = (CREATED_EVENT, *ADHOC_EVENT_TYPES)

#: Arming takes at most this long: the run is read (and polled) in the same invocation.
ARMING_BUDGET_SECS = 10.0
#: After a 401/403, this container does not ask again for this long.
REFUSAL_PAUSE_SECS = 600.0
MAX_REASON = 300


def actor_push_key(act_id: str) -> str:
    """The item saying an Actor has this deployment's Actor-level webhook (a key no run ID can take)."""
    return f"actor-push#{act_id}"


def idempotency_key(push_url: str, run_id: str) -> str:
    """Stable per run and deployment (the intake's URL names the deployment)."""
    return "arn-push-" + key_of(push_url, run_id)


class ApifyPushArming:
    """`ports.PushArming` on Apify's webhooks API: a run's ad-hoc webhook (or its Actor's) to the intake, inside the
    shared create budget."""

    def __init__(
        self,
        apify: ApifyClient,
        push_url: str,
        intake_token: SecretSource,
        clock: Callable[[], float] = time.monotonic,
        budget: ArmingBudget | None = None,
        table: RunsTable | None = None,
    ) -> None:
        self._budget = budget
        self._table = table
        self._covered: set[str] = set()
        self._apify = apify
        self._push_url = push_url
        self._intake_token = intake_token
        self._clock = clock
        self._lock = threading.Lock()
        self._refused_until = 0.0
        self._refusal = ""

    def arm(self, run_id: str, deadline: Deadline) -> PushArmed:
        """Create (or find, by its idempotency key) the run's ad-hoc webhook; OFF with Apify's reason when refused."""
        with self._lock:
            if self._clock() < self._refused_until:
                return PushArmed(PushMode.OFF, reason=f"not asked: {self._refusal}")
        spec = self._spec(
            for_actor=False,
            condition={"actorRunId": run_id},
            push_mode=PushMode.ADHOC,
            event_types=ADHOC_EVENT_TYPES,
            idempotency_key=idempotency_key(self._push_url, run_id),
            description=f"push for run {run_id}",
            ad_hoc=True,
        )
        try:
            webhook = self._apify.create_webhook(spec, deadline.within(ARMING_BUDGET_SECS))
        except ApifyAuthError as error:
            reason = str(error)[:MAX_REASON]
            with self._lock:
                first = self._clock() >= self._refused_until
                self._refused_until = self._clock() + REFUSAL_PAUSE_SECS
                self._refusal = reason
            if first:
                log.warning(
                    "Apify refused to create webhooks; runs are watched by polling",
                    extra={"reason": reason, "retry_in_secs": REFUSAL_PAUSE_SECS},
                )
            return PushArmed(PushMode.OFF, reason=reason)
        except (ApifyRequestError, RunNotFound) as error:
            return PushArmed(PushMode.OFF, reason=str(error)[:MAX_REASON])
        webhook_id = webhook.get("id")
        return PushArmed(PushMode.ADHOC, webhook_id if isinstance(webhook_id, str) else None)

    def _spec(self, *, for_actor: bool, **spec: Any) -> dict[str, Any]:
        """A create's body, once this second's budget gave the create (ArmingPaced when it did not)."""
        if self._budget is not None and not self._budget.take(for_actor=for_actor):
            raise ArmingPaced("this second's webhook creates are spent: read now, armed on its next look")
        try:
            token = self._intake_token()
        except SecretUnavailable as error:
            raise ApifyUnavailable(f"cannot arm push without the intake token: {error}") from None
        return webhook_spec(request_url=self._push_url, intake_token=token.reveal(), **spec)

    # --- Actor-level webhooks, for Actors whose runs saturate the per-run creates ---------------

    def actor_covered(self, act_id: str) -> bool:
        """The Actor has this deployment's Actor-level webhook: known in this container, else on the
        table (`actor-push#<actId>`, written when one was made)."""
        if act_id in self._covered:
            return True
        if self._table is None:
            return False
        try:
            found = bool((self._table.get(actor_push_key(act_id)) or {}).get("webhookId"))
        except Exception:  # an unknown answer: the run is armed its own way
            return False
        if found:
            self._covered.add(act_id)
        return found

    def arm_actor(self, act_id: str, deadline: Deadline) -> PushArmed:
        """One webhook for every run of the Actor (the events `make enroll` asks for), made once per
        deployment (its idempotency key), taking one create from the shared budget like any other."""
        spec = self._spec(
            for_actor=True,
            condition={"actorId": act_id},
            push_mode=PushMode.ACTOR,
            event_types=ACTOR_EVENT_TYPES,
            idempotency_key="arn-actor-" + key_of(self._push_url, act_id),
            description=f"push for every run of Actor {act_id} (chosen by the watcher: its runs saturated the creates)",
        )
        try:
            webhook = self._apify.create_webhook(spec, deadline.within(ARMING_BUDGET_SECS))
        except (ApifyAuthError, ApifyRequestError, RunNotFound) as error:
            return PushArmed(PushMode.OFF, reason=str(error)[:MAX_REASON])
        webhook_id = webhook.get("id")
        if not isinstance(webhook_id, str):
            return PushArmed(PushMode.OFF, reason="Apify answered the Actor webhook without an ID")
        if self._table is not None:
            self._table.update(
                actor_push_key(act_id), "SET #w = :w", {"#w": "webhookId"}, {":w": webhook_id}
            )  # other containers then need no create
        self._covered.add(act_id)
        return PushArmed(PushMode.ACTOR, webhook_id)
