"""The run ledger in DynamoDB: one item per run, written with conditions.

Every write is conditional:

* the run record only moves forward: a message about an older finish (a duplicate that
  arrives late, or the first finish of a run that was resurrected since) can never
  overwrite a later `finishedAt`;
* each destination's notification state is claimed with a lease before sending, so that
  two deliveries of the same run (one batch, two invocations, two concurrent invocations)
  post once. See `notifier.py` for why this and not Powertools idempotency.

"generation" identifies one finish of a run (its `finishedAt`, or the watcher's own
outcome): a resurrected run that finishes again is a new generation and is notified again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from run_notifier.run_summary import RunSummary

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class ClaimResult(Enum):
    CLAIMED = "claimed"  # ours to send now
    DONE = "done"  # sent or permanently failed for this generation already
    BUSY = "busy"  # another delivery holds a live lease and will finish it
    STALE = "stale"  # the item moved on to another generation


class NotificationState(StrEnum):
    CLAIMED = "CLAIMED"
    SENT = "SENT"
    FAILED = "FAILED"  # permanent: not retried
    RETRYING = "RETRYING"  # transient failure: the next delivery may claim it


@dataclass(frozen=True)
class RecordResult:
    written: bool
    stored_generation: str | None = None


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunStore:
    def __init__(self, dynamodb_client: Any, table_name: str, ttl_days: int = 90) -> None:
        self._ddb = dynamodb_client
        self._table = table_name
        self._ttl_days = ttl_days

    def record(
        self, summary: RunSummary, *, now: datetime, attempts: int, first_seen_at: datetime | None, costs_settled: bool
    ) -> RecordResult:
        """Write the run's item unless a later finish is already stored."""
        values: dict[str, Any] = {
            "status": summary.status,
            "generation": summary.generation,
            "actId": summary.act_id,
            "actorName": summary.actor_name,
            "actorTaskId": summary.actor_task_id,
            "statusMessage": summary.status_message,
            "exitCode": summary.exit_code,
            "usageTotalUsd": _decimal(summary.usage_total_usd),
            "computeUnits": _decimal(summary.compute_units),
            "chargedEventCounts": summary.charged_event_counts or None,
            "defaultDatasetId": summary.default_dataset_id,
            "startedAt": summary.started_at,
            "finishedAt": summary.finished_at,
            "durationSecs": _decimal(summary.duration_secs),
            "consoleUrl": summary.console_url,
            "datasetItemsUrl": summary.dataset_items_url,
            "watchAttempts": attempts,
            "firstSeenAt": iso(first_seen_at) if first_seen_at else None,
            "recordedAt": iso(now),
            "costsSettled": costs_settled,
        }
        if self._ttl_days:
            values["expiresAt"] = int((now + timedelta(days=self._ttl_days)).timestamp())
        present = {k: v for k, v in values.items() if v is not None}
        names = {f"#a{i}": k for i, k in enumerate(present)}
        expr_values = {f":v{i}": _SERIALIZER.serialize(v) for i, v in enumerate(present.values())}
        update = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(present)))
        names["#fin"] = "finishedAt"
        if summary.finished_at:
            expr_values[":fin"] = {"S": summary.finished_at}
            condition = "attribute_not_exists(runId) OR attribute_not_exists(#fin) OR #fin <= :fin"
        else:
            condition = "attribute_not_exists(runId) OR attribute_not_exists(#fin)"
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"runId": {"S": summary.run_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=expr_values,
            )
        except ClientError as error:
            if _condition_failed(error):
                item = self.get(summary.run_id) or {}
                return RecordResult(False, item.get("generation"))
            raise
        return RecordResult(True, summary.generation)

    def claim(
        self, run_id: str, destination: str, generation: str, *, owner: str, now: datetime, lease_secs: float
    ) -> ClaimResult:
        """Take this destination's notification for one delivery, named by `owner`."""
        attr = f"{destination}Notification"
        claim = {
            "state": NotificationState.CLAIMED.value,
            "generation": generation,
            "owner": owner,
            "leaseUntil": iso(now + timedelta(seconds=lease_secs)),
        }
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"runId": {"S": run_id}},
                UpdateExpression="SET #n = :claim",
                ConditionExpression=(
                    "#gen = :g AND (attribute_not_exists(#n) OR #n.#gen <> :g OR #n.#st = :retrying"
                    " OR (#n.#st = :claimed AND #n.#lease < :now))"
                ),
                ExpressionAttributeNames={"#n": attr, "#gen": "generation", "#st": "state", "#lease": "leaseUntil"},
                ExpressionAttributeValues={
                    ":claim": _SERIALIZER.serialize(claim),
                    ":g": {"S": generation},
                    ":retrying": {"S": NotificationState.RETRYING.value},
                    ":claimed": {"S": NotificationState.CLAIMED.value},
                    ":now": {"S": iso(now)},
                },
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            item = self.get(run_id) or {}
            if item.get("generation") != generation:
                return ClaimResult.STALE
            state = (item.get(attr) or {}).get("state")
            return ClaimResult.BUSY if state == NotificationState.CLAIMED.value else ClaimResult.DONE
        return ClaimResult.CLAIMED

    def settle_notification(
        self,
        run_id: str,
        destination: str,
        generation: str,
        state: NotificationState,
        *,
        owner: str,
        now: datetime,
        detail: str | None = None,
    ) -> None:
        """Move our claim to SENT, FAILED (permanent) or RETRYING (transient).

        Only while the claim is still ours: a holder whose lease lapsed and was taken over
        must not release or close the new holder's claim.
        """
        attr = f"{destination}Notification"
        value: dict[str, Any] = {"state": state.value, "generation": generation, "at": iso(now)}
        if detail:
            value["error" if state is not NotificationState.SENT else "detail"] = detail[:500]
        update = "SET #n = :v"
        names = {"#n": attr, "#gen": "generation", "#st": "state", "#owner": "owner"}
        values = {
            ":v": _SERIALIZER.serialize(value),
            ":g": {"S": generation},
            ":claimed": {"S": NotificationState.CLAIMED.value},
            ":owner": {"S": owner},
        }
        if state is NotificationState.SENT:
            update += ", #at = :at"
            names["#at"] = f"{destination}NotifiedAt"
            values[":at"] = {"S": iso(now)}
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"runId": {"S": run_id}},
                UpdateExpression=update,
                ConditionExpression="#n.#gen = :g AND #n.#st = :claimed AND #n.#owner = :owner",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            # Our lease expired and someone else took over; their outcome stands.

    def get(self, run_id: str) -> dict[str, Any] | None:
        response = self._ddb.get_item(TableName=self._table, Key={"runId": {"S": run_id}}, ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
