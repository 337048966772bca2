"""The runs table's one write primitive: a conditional update that says what stood in its way.

DynamoDB applies each conditional write to an item atomically. With
`ReturnValuesOnConditionCheckFailure=ALL_OLD` a failed condition returns the item as it was,
so the caller classifies the refusal from the write itself, with no second read (which
could see a later state than the one that refused it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_attribute(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value."""
    return cast(dict[str, Any], _SERIALIZER.serialize(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python values."""
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


class RunsTable:
    """The table keyed by `runId`."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def conditional_update(
        self,
        run_id: str,
        update: str,
        condition: str,
        names: Mapping[str, str],
        values: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """Apply the update if the condition holds: None when written, else the item as it stood ({} if absent).

        Python values in ``values`` are serialised here; other errors than the condition raise.
        """
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"runId": {"S": run_id}},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": dict(names),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:  # DynamoDB refuses an empty map (a REMOVE under a condition on names needs none)
            request["ExpressionAttributeValues"] = {key: to_attribute(value) for key, value in values.items()}
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return from_item(error.response.get("Item") or {})
        return None

    def increment(
        self, run_id: str, attribute: str, by: int, condition: str, values: Mapping[str, Any]
    ) -> tuple[int | None, dict[str, Any]]:
        """Add `by` to a number if the condition holds (atomic, never a conflict among writers): (the new
        value, {}), or (None, the item as it stood) when the condition did not hold. The condition names
        the attribute `#a`."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"runId": {"S": run_id}},
                UpdateExpression="ADD #a :by",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues={key: to_attribute(value) for key, value in {**values, ":by": by}.items()},
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return None, from_item(error.response.get("Item") or {})
        return int(from_item(response.get("Attributes") or {}).get(attribute, 0)), {}

    def update(self, run_id: str, update: str, names: Mapping[str, str], values: Mapping[str, Any]) -> None:
        """An unconditional update (for facts that are true whenever they are written)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"runId": {"S": run_id}},
            "UpdateExpression": update,
            "ExpressionAttributeNames": dict(names),
        }
        if values:  # DynamoDB refuses an empty map (a REMOVE needs none)
            request["ExpressionAttributeValues"] = {key: to_attribute(value) for key, value in values.items()}
        self._client.update_item(**request)

    def query_newest(self, index: str, key_name: str, key: str, limit: int) -> list[dict[str, Any]]:
        """One page of an index's items under ``key``, newest (highest sort key) first; eventually consistent."""
        response = self._client.query(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": key_name},
            ExpressionAttributeValues={":k": {"S": key}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item) for item in response.get("Items", [])]

    def query_all(self, index: str, key_name: str, key: str) -> Iterator[dict[str, Any]]:
        """Every item of an index under ``key``, page by page (eventually consistent)."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": key_name},
            ExpressionAttributeValues={":k": {"S": key}},
        )
        for page in pages:
            for item in page.get("Items", []):
                yield from_item(item)

    def delete_if_exists(self, run_id: str) -> bool:
        """Delete the item; False when there was none."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"runId": {"S": run_id}},
                ConditionExpression="attribute_exists(#k)",
                ExpressionAttributeNames={"#k": "runId"},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def scan_prefix(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every item whose key starts with ``prefix``, page by page (a scan: for operators' commands, never a
        run's path)."""
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression="begins_with(#k, :p)",
            ExpressionAttributeNames={"#k": "runId"},
            ExpressionAttributeValues={":p": {"S": prefix}},
        )
        for page in pages:
            for item in page.get("Items", []):
                yield from_item(item)

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The item with this key (a consistent read); None when there is none."""
        response = self._client.get_item(TableName=self._table, Key={"runId": {"S": run_id}}, ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else from_item(item)
