"""What webhook receivers and EventBridge rules get for an incident: the same `data` for both.

`incidentId` names the incident (its key and its first run) and `notificationId` the transition
(`<incidentId>#opened` / `#resolved`): the webhook's `webhook-id` and the EventBridge event's
`notificationId`, so a receiver can drop a repeat, as for runs.
"""

from __future__ import annotations

from typing import Any

from run_notifier.domain.incidents import IncidentEvent, Transition

#: Webhook `type` and EventBridge `DetailType` per transition.
WEBHOOK_TYPES = {Transition.OPENED: "apify.incident.opened", Transition.RESOLVED: "apify.incident.resolved"}
DETAIL_TYPES = {Transition.OPENED: "Apify Incident Opened", Transition.RESOLVED: "Apify Incident Resolved"}


def incident_data(event: IncidentEvent) -> dict[str, Any]:
    """An incident transition's `data`, the same for the webhook and EventBridge."""
    return {
        "incidentId": event.incident_id,
        "notificationId": event.event_id,
        "state": "OPEN" if event.kind is Transition.OPENED else "RESOLVED",
        "key": event.key,
        "routeIndex": event.route_index,
        "actId": event.act_id,
        "actorTaskId": event.actor_task_id,
        "firstRunId": event.first_run_id,
        "lastRunId": event.last_run_id,
        "failedRuns": event.failures,
        "openedAt": event.opened_at,
        "resolvedAt": event.at if event.kind is Transition.RESOLVED else None,
    }
