"""A generic webhook, signed per the Standard Webhooks spec (`standardwebhooks`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import Secret, SecretSource, is_signing_secret
from run_notifier.config_sections import Section, Variable, one_of_needed, signing_secret, text
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.http_post import post_json
from run_notifier.destinations.incident_payload import WEBHOOK_TYPES, incident_data
from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.destinations.run_facts import stuck_data
from run_notifier.destinations.run_payload import notification_id, run_data
from run_notifier.destinations.schedule_facts import WEBHOOK_TYPE as MISSED_TYPE
from run_notifier.destinations.schedule_facts import missed_data
from run_notifier.domain.announcements import (
    IncidentAnnouncement,
    MissedScheduleAnnouncement,
    RunEndAnnouncement,
    StuckRunAnnouncement,
)
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.health import StuckAlert
from run_notifier.domain.incidents import IncidentEvent
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.missed_schedules import MissedSlot
from run_notifier.domain.ports import PermanentDeliveryError, TargetSchema
from run_notifier.domain.run_summary import RunSummary

KIND = "webhook"


class WebhookSettings(NamedTuple):
    """The signed webhook's settings: its URL and its signing secret (by ARN or plain)."""

    webhook_url: str | None
    webhook_secret_arn: str | None
    webhook_secret: Secret | None


SETTINGS = Section(
    (
        Variable("WEBHOOK_URL", text, None),
        Variable("WEBHOOK_SECRET_ARN", text, None),
        Variable("WEBHOOK_SECRET", signing_secret, None),
    ),
    urls=("WEBHOOK_URL",),
    check=lambda v: one_of_needed(
        v, "WEBHOOK_URL", "WEBHOOK_SECRET_ARN", "WEBHOOK_SECRET", why="(whsec_...) to sign with"
    ),
    model=WebhookSettings,
)
SCHEMA = TargetSchema(keys=frozenset({"url", "secretArn", "secret"}), required_one_of=frozenset({"url"}))

EVENT_TYPE = "apify.run.finished"


def build_payload(summary: RunSummary, now: datetime) -> dict[str, Any]:
    """The run's `apify.run.finished` payload."""
    return {
        "type": EVENT_TYPE,
        "timestamp": format_iso(now),
        "data": run_data(summary),
    }


def message_id(summary: RunSummary) -> str:
    """Stable per run and finish, so a receiver can de-duplicate on `webhook-id`."""
    return notification_id(summary)


def signed_request(summary: RunSummary, secret: Secret, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The run's payload as a body and its Standard Webhooks headers (`webhook-id` stable per run and finish)."""
    return _signed(build_payload(summary, now), message_id(summary), secret, now)


STUCK_TYPE = "apify.run.stuck"


def signed_stuck(summary: RunSummary, alert: StuckAlert, secret: Secret, now: datetime) -> tuple[bytes, dict[str, str]]:
    """A stuck run's `apify.run.stuck` body and signed headers."""
    data = stuck_data(summary, alert)
    payload = {"type": STUCK_TYPE, "timestamp": format_iso(now), "data": data}
    return _signed(payload, str(data["notificationId"]), secret, now)


def signed_missed(missed: MissedSlot, secret: Secret, now: datetime) -> tuple[bytes, dict[str, str]]:
    """A missed slot's `apify.schedule.missed` body and signed headers."""
    data = missed_data(missed)
    payload = {"type": MISSED_TYPE, "timestamp": format_iso(now), "data": data}
    return _signed(payload, str(data["notificationId"]), secret, now)


def signed_incident(event: IncidentEvent, secret: Secret, now: datetime) -> tuple[bytes, dict[str, str]]:
    """An incident transition's body and signed headers (`webhook-id` the transition's ID)."""
    payload = {"type": WEBHOOK_TYPES[event.kind], "timestamp": format_iso(now), "data": incident_data(event)}
    return _signed(payload, event.event_id, secret, now)


def _signed(payload: dict[str, Any], msg_id: str, secret: Secret, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"))
    if not is_signing_secret(secret.reveal()):  # from Secrets Manager: checked when read, never shown
        raise PermanentDeliveryError("the webhook signing secret is not a Standard Webhooks secret (whsec_<base64>)")
    from standardwebhooks import Webhook  # only a run that ends signs: kept out of the cold start

    signature = Webhook(secret.reveal()).sign(msg_id=msg_id, timestamp=now, data=body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def default_target(section: WebhookSettings) -> Target | None:
    """The default target: the settings' URL with its secret; None without a URL."""
    if not section.webhook_url:
        return None
    target: dict[str, str | Secret] = {"url": section.webhook_url}
    if section.webhook_secret_arn:
        target["secretArn"] = section.webhook_secret_arn
    elif section.webhook_secret:
        target["secret"] = section.webhook_secret
    return target


def build(target: Target, context: DestinationContext) -> WebhookDestination:
    """A routed target without a secret of its own signs with the default webhook secret."""
    section: WebhookSettings = context.section(KIND)
    if "secretArn" in target or "secret" in target:
        secret = context.secrets.source(
            str(target.get("secretArn") or "") or None, target.get("secret"), "webhook signing"
        )
    else:
        secret = context.secrets.source(section.webhook_secret_arn, section.webhook_secret, "webhook signing")
    return WebhookDestination(
        context.http,
        str(target["url"]),
        secret,
        context.clock,
        allow_loopback_http=context.settings.allow_loopback_http,
    )


class WebhookDestination(Rendering):
    """Signed POSTs: a run's end, a stuck run, a missed slot, an incident's opening and resolution
    (on incident routes the per-run events stay as they are)."""

    kind = KIND

    def __init__(
        self,
        http: HttpClient,
        url: str,
        secret: SecretSource,
        clock: Callable[[], datetime],
        *,
        allow_loopback_http: bool,
    ) -> None:
        self._http = http
        self._url = url
        self._secret = secret
        self._clock = clock
        self._allow_loopback_http = allow_loopback_http

    @renders(RunEndAnnouncement)
    def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str:
        """`apify.run.finished`, `webhook-id` stable per run and finish."""
        return self._post(*signed_request(announcement.run, self._secret(), self._clock()), deadline)

    @renders(StuckRunAnnouncement)
    def _stuck(self, announcement: StuckRunAnnouncement, deadline: Deadline) -> str:
        """`apify.run.stuck`, signed like a run's, `webhook-id` stable per run (`msg_<runId>_stuck`)."""
        signed = signed_stuck(announcement.run, announcement.alert, self._secret(), self._clock())
        return self._post(*signed, deadline)

    @renders(MissedScheduleAnnouncement)
    def _missed(self, announcement: MissedScheduleAnnouncement, deadline: Deadline) -> str:
        """`apify.schedule.missed`, signed like a run's, `webhook-id` stable per schedule and slot."""
        return self._post(*signed_missed(announcement.missed, self._secret(), self._clock()), deadline)

    @renders(IncidentAnnouncement)
    def _incident(self, announcement: IncidentAnnouncement, deadline: Deadline) -> str:
        """`apify.incident.opened` / `.resolved`, signed like a run's, `webhook-id` the transition's ID."""
        return self._post(*signed_incident(announcement.event, self._secret(), self._clock()), deadline)

    def post_signed(self, payload: dict[str, Any], msg_id: str, deadline: Deadline) -> str:
        """Any payload, signed with this destination's secret (a renderer from outside this module)."""
        return self._post(*_signed(payload, msg_id, self._secret(), self._clock()), deadline)

    def _post(self, body: bytes, headers: dict[str, str], deadline: Deadline) -> str:
        receipt = post_json(
            self._http, self._url, body, headers, deadline, "webhook", allow_loopback_http=self._allow_loopback_http
        )
        return f"HTTP {receipt.status} after {receipt.attempts} attempt(s)"
