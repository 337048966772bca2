"""Announce a finished run exactly once per destination.

Why DynamoDB conditional writes on the run's own item, not Powertools idempotency:
idempotency caches one function result per payload, so a run with three destinations where
one failed would either re-post to all three or to none. Here each destination has its own
lease-based claim on the run item (`run_store.RunStore.claim`): a destination that worked
is never called again, a failed one is retried alone, and the ledger shows per destination
when it was notified or why it failed, with no second table.

The one window left is a crash between a successful POST and recording it: the lease then
expires and the next delivery posts again. Webhooks carry a stable `webhook-id` per run and
finish so receivers can drop that duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from run_notifier.config import Settings
from run_notifier.delivery import PermanentDeliveryError, TransientDeliveryError
from run_notifier.http import HttpClient
from run_notifier.observability import count, logger
from run_notifier.routing import Routes
from run_notifier.run_store import ClaimResult, NotificationState, RunStore
from run_notifier.run_summary import RunSummary
from run_notifier.secret import Secret
from run_notifier.secrets import SecretResolver, SecretUnavailable
from run_notifier.timebudget import Deadline

if TYPE_CHECKING:
    from run_notifier.destinations import Destination

#: A claim outlives the invocation by this much, so a crashed sender's claim lapses.
LEASE_MARGIN_SECS = 60.0


class NotificationsIncomplete(Exception):
    """Some destination failed transiently; the record fails and SQS redelivers it."""


@dataclass
class NotifyReport:
    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed_permanently: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    skipped_reason: str | None = None


class Notifier:
    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        http: HttpClient,
        secrets: SecretResolver,
        events_client_factory: Callable[[], Any],
        routes_provider: Callable[[], Routes],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._http = http
        self._secrets = secrets
        self._events_client_factory = events_client_factory
        self._routes_provider = routes_provider
        self._now = now
        self._slack_url = (
            secrets.source(settings.slack_webhook_url_secret_arn, settings.slack_webhook_url, "Slack webhook URL")
            if settings.slack_configured
            else None
        )
        self._webhook_secret = (
            secrets.source(settings.webhook_secret_arn, settings.webhook_secret, "webhook signing")
            if settings.webhook_configured
            else None
        )

    def notify(self, summary: RunSummary, deadline: Deadline) -> NotifyReport:
        report = NotifyReport()
        if summary.status not in self._settings.notify_on:
            report.skipped_reason = f"status {summary.status} not in NOTIFY_ON"
            logger.info("Not notifying: status filtered by NOTIFY_ON", extra={"status": summary.status})
            return report
        generation = summary.generation
        destinations: list[Destination] = []
        for kind, target in self._routes_provider().targets_for(summary).items():
            try:
                destination = self._destination(kind, target)
            except SecretUnavailable as error:
                report.retrying.append(kind)
                logger.error("Destination not usable", extra={"destination": kind, "reason": str(error)})
                continue
            if destination is not None:
                destinations.append(destination)
        for index, destination in enumerate(destinations):
            # A fair share of the time left, so a destination that keeps failing cannot starve the others.
            share = Deadline.after(deadline.left() / (len(destinations) - index), deadline.clock)
            self._notify_one(destination, summary, generation, share, report)
        if report.retrying:
            raise NotificationsIncomplete(
                f"run {summary.run_id}: {', '.join(report.retrying)} not delivered yet; "
                f"sent {report.sent or 'none'}, already done {report.already or 'none'}"
            )
        return report

    def _notify_one(
        self, destination: Destination, summary: RunSummary, generation: str, deadline: Deadline, report: NotifyReport
    ) -> None:
        kind = destination.kind
        owner = uuid.uuid4().hex  # this delivery's name on the claim

        def settle(state: NotificationState, detail: str | None) -> None:
            self._store.settle_notification(
                summary.run_id, kind, generation, state, owner=owner, now=self._now(), detail=detail
            )

        claim = self._store.claim(
            summary.run_id,
            kind,
            generation,
            owner=owner,
            now=self._now(),
            lease_secs=deadline.left() + LEASE_MARGIN_SECS,
        )
        if claim is not ClaimResult.CLAIMED:
            report.already.append(kind)
            logger.info("Destination already handled", extra={"destination": kind, "claim": claim.value})
            return
        try:
            detail = destination.send(summary, deadline)
        except PermanentDeliveryError as error:
            settle(NotificationState.FAILED, str(error))
            report.failed_permanently.append(kind)
            count("NotificationFailures")
            logger.error(
                "Notification failed permanently; not retrying", extra={"destination": kind, "reason": str(error)}
            )
            return
        except (TransientDeliveryError, SecretUnavailable) as error:
            reason = str(error)
        except Exception as error:  # an unexpected bug must not leave the claim held
            reason = f"unexpected {type(error).__name__}"
        else:
            settle(NotificationState.SENT, detail)
            report.sent.append(kind)
            count("NotificationsSent")
            logger.info("Notified", extra={"destination": kind, "detail": detail})
            return
        settle(NotificationState.RETRYING, reason)  # released: the next delivery may claim it
        report.retrying.append(kind)
        count("NotificationFailures")
        logger.warning("Notification failed; will retry on redelivery", extra={"destination": kind, "reason": reason})

    def _destination(self, kind: str, target: dict[str, str] | bool) -> Destination | None:
        if target is False:
            return None
        # Imported on first use: a cold start that only re-enqueues never needs them.
        from run_notifier.destinations.eventbridge import EventBridgeDestination
        from run_notifier.destinations.slack import SlackDestination
        from run_notifier.destinations.webhook import WebhookDestination

        override = target if isinstance(target, dict) else None
        if kind == "slack":
            if override:
                url = self._secrets.source(
                    override.get("webhookUrlSecretArn"),
                    Secret(override["webhookUrl"]) if "webhookUrl" in override else None,
                    "routed Slack webhook URL",
                )
                return SlackDestination(self._http, url)
            return SlackDestination(self._http, self._slack_url) if self._slack_url else None
        if kind == "webhook":
            if override:
                secret = (
                    self._secrets.source(
                        override.get("secretArn"),
                        Secret(override["secret"]) if "secret" in override else None,
                        "routed webhook signing",
                    )
                    if ("secretArn" in override or "secret" in override)
                    else self._webhook_secret
                )
                if secret is None:
                    raise SecretUnavailable("routed webhook has no signing secret")
                return WebhookDestination(self._http, override["url"], secret, self._now)
            if self._settings.webhook_url and self._webhook_secret:
                return WebhookDestination(self._http, self._settings.webhook_url, self._webhook_secret, self._now)
            return None
        if kind == "eventbridge":
            bus = override["eventBusName"] if override else self._settings.event_bus_name
            return EventBridgeDestination(self._events_client_factory(), bus) if bus else None
        return None
