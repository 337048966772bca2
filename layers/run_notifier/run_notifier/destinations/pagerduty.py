"""PagerDuty: Events API v2 (`POST /v2/enqueue`), a page per problem.

On a route in incident mode it pages per incident, instead of per run: `trigger` when the
incident opens and `resolve` when it resolves, both with `dedup_key` = the incident's ID, so that
PagerDuty itself groups them into one alert. On any other route it triggers per FAILED or
TIMED-OUT run (a route's `on` may list other statuses), `dedup_key` = the run's notification ID
(a repeat after a crash between the send and its record is then the same alert).

Routing key: `PAGERDUTY_ROUTING_KEY_SECRET_ARN` (Secrets Manager) or `PAGERDUTY_ROUTING_KEY`
(local use), or per route `{"routingKeySecretArn": ...}`. `PAGERDUTY_EVENTS_URL` points it at a
local receiver. 429 and 5xx are retried within the destination's share (`post_json`), a 400 is
permanent: recorded FAILED and alarmed like every permanent refusal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from run_notifier.adapters.apify_links import console_url
from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import Secret, SecretSource
from run_notifier.config_sections import Section, Variable, secret, text
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.http_post import post_json
from run_notifier.destinations.incident_payload import incident_data
from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.destinations.run_payload import notification_id, run_data
from run_notifier.domain.announcements import IncidentAnnouncement, RunEndAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.incidents import IncidentEvent, Transition
from run_notifier.domain.ports import Limits, PermanentDeliveryError, TargetSchema, Traits
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.statuses import NOTIFIABLE

KIND = "pagerduty"
DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: Which runs page on a route without incident mode, unless its `on` says otherwise.
DEFAULT_ON = frozenset({"FAILED", "TIMED-OUT"})
#: PagerDuty's severity per run status (a route's `severity` overrides it).
SEVERITY = {"FAILED": "error", "TIMED-OUT": "error", "WATCH_EXPIRED": "warning", "ABORTED": "warning"}
SEVERITIES = frozenset({"critical", "error", "warning", "info"})
#: PagerDuty refuses a summary longer than this.
MAX_SUMMARY = 1024
SOURCE = "apify-run-notifier"


class PagerDutySettings(NamedTuple):
    """PagerDuty's settings: the routing key (a secret) by ARN or plain, and the Events API URL."""

    pagerduty_routing_key_secret_arn: str | None
    pagerduty_routing_key: Secret | None
    pagerduty_events_url: str


SETTINGS = Section(
    (
        Variable("PAGERDUTY_ROUTING_KEY_SECRET_ARN", text, None),
        Variable("PAGERDUTY_ROUTING_KEY", secret, None),
        Variable("PAGERDUTY_EVENTS_URL", text, DEFAULT_EVENTS_URL),
    ),
    urls=("PAGERDUTY_EVENTS_URL",),
    model=PagerDutySettings,
)


def _check(target: Mapping[str, Any]) -> str | None:
    unknown = sorted(set(target.get("on", [])) - NOTIFIABLE)
    if unknown:
        return f"on has unknown statuses {unknown}; allowed: {sorted(NOTIFIABLE)}"
    if "severity" in target and target["severity"] not in SEVERITIES:
        return f"severity must be one of {sorted(SEVERITIES)}"
    return None


SCHEMA = TargetSchema(
    keys=frozenset({"routingKeySecretArn", "routingKey", "severity", "on"}),
    required_one_of=frozenset({"routingKeySecretArn", "routingKey"}),
    list_keys=frozenset({"on"}),
    pages=True,
    check=_check,
)


def default_target(section: PagerDutySettings) -> Target | None:
    """The default target: the settings' routing key; None without one."""
    if section.pagerduty_routing_key_secret_arn:
        return {"routingKeySecretArn": section.pagerduty_routing_key_secret_arn}
    if section.pagerduty_routing_key:
        return {"routingKey": section.pagerduty_routing_key}
    return None


def build(target: Target, context: DestinationContext) -> PagerDutyDestination:
    """A PagerDuty destination for this target's routing key, statuses and severity."""
    section: PagerDutySettings = context.section(KIND)
    key = context.secrets.source(
        str(target.get("routingKeySecretArn") or "") or None, target.get("routingKey"), "PagerDuty routing key"
    )
    return PagerDutyDestination(
        context.http,
        section.pagerduty_events_url,
        key,
        on=frozenset(target.get("on", [])) or DEFAULT_ON,
        severity=target.get("severity"),
        allow_loopback_http=context.settings.allow_loopback_http,
    )


def run_event(summary: RunSummary, routing_key: str, severity: str | None) -> dict[str, Any]:
    """A run's Events API v2 `trigger` (its `dedup_key` the run's notification ID)."""
    actor = summary.actor_name or summary.act_id or "unknown Actor"
    why = f": {summary.status_message}" if summary.status_message else ""
    link = console_url(summary)
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": notification_id(summary),
        "payload": {
            "summary": f"{summary.status}: {actor} run {summary.run_id}{why}"[:MAX_SUMMARY],
            "source": SOURCE,
            "severity": severity or SEVERITY.get(summary.status, "warning"),
            "component": actor[:200],
            "group": summary.actor_task_id or summary.act_id or "apify",
            "class": summary.status,
            "custom_details": run_data(summary),
        },
        "links": [{"href": link, "text": "Run in Apify Console"}],
        "client": "Apify Run Notifier",
        "client_url": link,
    }


def incident_event(event: IncidentEvent, routing_key: str, severity: str | None) -> dict[str, Any]:
    """An incident's `trigger` when it opens and `resolve` when it recovers, on one `dedup_key`."""
    if event.kind is Transition.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": event.incident_id}
    run = RunSummary(event.first_run_id, event.status or "FAILED", act_id=event.act_id)
    link = console_url(run._replace(run_id=event.last_run_id))
    actor = event.actor_name or event.act_id or "unknown Actor"
    why = f": {event.status_message}" if event.status_message else ""
    subject = f"task {event.actor_task_id}" if event.actor_task_id else actor
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": event.incident_id,
        "payload": {
            "summary": f"{actor} failing ({event.failures} run(s) in a row){why}"[:MAX_SUMMARY],
            "source": SOURCE,
            "severity": severity or SEVERITY.get(event.status or "FAILED", "error"),
            "component": actor[:200],
            "group": subject[:200],
            "class": "apify.incident",
            "custom_details": incident_data(event),
        },
        "links": [{"href": link, "text": "Last failed run in Apify Console"}],
        "client": "Apify Run Notifier",
        "client_url": link,
    }


def _pages_for(destination: PagerDutyDestination, announcement: RunEndAnnouncement) -> bool:
    return destination.accepts(announcement.run)


class PagerDutyDestination(Rendering):
    """Per run on routes without incident mode; per incident (trigger, resolve) on routes with it."""

    kind = KIND
    #: Paging (quiet hours hold it only when the route says so); on an incident route it pages per
    #: incident (trigger, resolve) instead of per run.
    traits = Traits(pages=True, incidents_instead_of_runs=True)
    #: Events API v2: `payload.summary` at most 1,024 characters, an event at most 512 KB.
    limits = Limits(text_chars=1024, text_key="summary", body_bytes=512 * 1024)

    def __init__(
        self,
        http: HttpClient,
        events_url: str,
        routing_key: SecretSource,
        *,
        on: frozenset[str],
        severity: str | None,
        allow_loopback_http: bool,
    ) -> None:
        self._http = http
        self._url = events_url
        self._key = routing_key
        self._on = on
        self._severity = severity
        self._allow_loopback_http = allow_loopback_http

    def accepts(self, summary: RunSummary) -> bool:
        """Only the statuses it pages for get a per-run delivery (and a claim in the ledger)."""
        return summary.status in self._on

    @renders(RunEndAnnouncement, when=_pages_for)
    def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str:
        """A trigger per failing run (its own `dedup_key`)."""
        return self._enqueue(run_event(announcement.run, self._key().reveal(), self._severity), deadline)

    @renders(IncidentAnnouncement)
    def _incident(self, announcement: IncidentAnnouncement, deadline: Deadline) -> str:
        """Trigger when the incident opens, resolve (same `dedup_key`) when it recovers."""
        return self._enqueue(incident_event(announcement.event, self._key().reveal(), self._severity), deadline)

    def _enqueue(self, event: dict[str, Any], deadline: Deadline) -> str:
        receipt = post_json(
            self._http,
            self._url,
            json.dumps(event).encode(),
            {},
            deadline,
            "PagerDuty",
            allow_loopback_http=self._allow_loopback_http,
        )
        try:
            dedup = json.loads(receipt.body).get("dedup_key")
        except (ValueError, AttributeError):
            dedup = None
        if receipt.status != 202:
            raise PermanentDeliveryError(f"PagerDuty answered HTTP {receipt.status}, not 202")
        return f"{event['event_action']} {dedup or event.get('dedup_key')} after {receipt.attempts} attempt(s)"
