"""An HTTP proxy on 127.0.0.1 that enforces IAM in front of moto, which checks no permissions.

moto's own access control (`INITIAL_NO_AUTH_ACTION_COUNT`) evaluates actions, but for DynamoDB,
Secrets Manager, SSM and EventBridge it authorises every request against resource `*`, so a
policy scoped to a table or a secret ARN (as every statement of this project's roles is) would
be denied everything. This gate does what IAM does for the calls the functions make: it reads
the caller's access key from the SigV4 `Authorization` header, names the IAM action and the
resource ARNs from the request (a table from `TableName`, a queue from `QueueUrl`, a secret's
full ARN whatever form `SecretId` takes, an SSM parameter, each entry's event bus), and allows
the request only when an `Allow` statement of that principal matches the action and every
resource and no `Deny` does. A denied request gets AWS's `AccessDeniedException`.

For each request it also records which statements allowed it: a statement that was the only
one to allow some request is needed (removing it would have denied that request); one that
never was is more than the code needs.

Conditions: `ForAllValues:StringEquals` or `ForAllValues:StringLike` on `dynamodb:LeadingKeys` (the
partition keys a DynamoDB request names) is evaluated; a statement with any other `Condition` never matches here. Not
modelled: KMS (moto's Secrets Manager decrypts nothing), which the template tests cover instead.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from localdev.http_server import LoopbackServer, LoopbackService
from localdev.relay import RelayHandler, forward
from localdev.template_policies import ACCOUNT_ID

REGION = "us-east-1"
#: Batch operations and the IAM action that authorises them.
_BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
}
_SIGNING_TO_PREFIX = {
    "dynamodb": "dynamodb",
    "sqs": "sqs",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "events": "events",
}


@dataclass(frozen=True)
class Decision:
    principal: str
    action: str
    resources: tuple[str, ...]
    allowed: bool
    #: The Sids whose Allow matched every resource of the request.
    allowed_by: frozenset[str]


def _matches(patterns: Any, value: str, *, case_sensitive: bool) -> bool:
    items = patterns if isinstance(patterns, list) else [patterns]
    if not case_sensitive:
        return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in items)
    return any(fnmatch.fnmatchcase(value, str(p)) for p in items)


def statement_allows(
    statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, list[str]] | None = None
) -> bool:
    if "Condition" in statement and not _condition_holds(statement["Condition"], context or {}):
        return False
    return _matches(statement["Action"], action, case_sensitive=False) and _matches(
        statement.get("Resource", "*"), resource, case_sensitive=True
    )


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, list[str]]) -> bool:
    """`ForAllValues:StringEquals` or `ForAllValues:StringLike` (`*` and `?` wildcards) on
    `dynamodb:LeadingKeys` only: every key the request names is allowed (a request naming none does
    not match, as a statement's only grant never should)."""
    if len(condition) != 1 or next(iter(condition)) not in ("ForAllValues:StringEquals", "ForAllValues:StringLike"):
        return False
    operator = next(iter(condition))
    tests = condition[operator]
    if set(tests) != {"dynamodb:LeadingKeys"}:
        return False
    allowed = tests["dynamodb:LeadingKeys"]
    allowed = allowed if isinstance(allowed, list) else [allowed]
    keys = context.get("dynamodb:LeadingKeys") or []
    if operator == "ForAllValues:StringLike":
        return bool(keys) and all(any(fnmatch.fnmatchcase(key, str(p)) for p in allowed) for key in keys)
    return bool(keys) and all(key in allowed for key in keys)


class IamGate(LoopbackService):
    def __init__(self, upstream: str, full_secret_arn: Callable[[str], str]) -> None:
        """`full_secret_arn`: a secret's full ARN from any `SecretId` form (asked of moto by the test)."""
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.full_secret_arn = full_secret_arn
        self.principals: dict[str, list[dict[str, Any]]] = {}
        self.decisions: list[Decision] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(_make_handler(self))

    def grant(self, access_key: str, statements: list[dict[str, Any]]) -> None:
        """Requests signed with this access key are held to these statements; others pass unchecked."""
        self.principals[access_key] = statements

    def denied(self) -> list[Decision]:
        with self._lock:
            return [d for d in self.decisions if not d.allowed]

    def sole_allowers(self, principal: str) -> set[str]:
        """The Sids that were, for some request of this principal, the only statement allowing it."""
        with self._lock:
            return {
                next(iter(d.allowed_by)) for d in self.decisions if d.principal == principal and len(d.allowed_by) == 1
            }

    def decide(
        self,
        access_key: str,
        action: str,
        resources: tuple[str, ...],
        context: Mapping[str, list[str]] | None = None,
    ) -> Decision:
        statements = self.principals[access_key]
        denies = any(
            s["Effect"] == "Deny" and statement_allows({**s, "Effect": "Allow"}, action, r, context)
            for s in statements
            for r in resources
        )
        allowed_by = frozenset(
            s.get("Sid", "?")
            for s in statements
            if s["Effect"] == "Allow" and all(statement_allows(s, action, r, context) for r in resources)
        )
        # Several statements may each allow some of the resources (a batch across two queues): IAM
        # allows then too. This project's requests each name one resource, or one per entry.
        per_resource = all(
            any(s["Effect"] == "Allow" and statement_allows(s, action, r, context) for s in statements)
            for r in resources
        )
        decision = Decision(access_key, action, resources, per_resource and not denies, allowed_by)
        with self._lock:
            self.decisions.append(decision)
        return decision

    # --- what a request asks for ---

    @staticmethod
    def context_of(service: str, body: dict[str, Any]) -> dict[str, list[str]]:
        """The condition keys a request carries: for DynamoDB, the partition keys it names
        (`Key`, each `RequestItems` entry's `Keys` or `Key`; a query's or scan's keys are not read)."""
        if service != "dynamodb":
            return {}
        keys = [body["Key"]] if isinstance(body.get("Key"), dict) else []
        for request in (body.get("RequestItems") or {}).values():
            if isinstance(request, dict):
                keys += list(request.get("Keys") or [])
            elif isinstance(request, list):
                keys += [
                    (entry.get("PutRequest") or {}).get("Item") or (entry.get("DeleteRequest") or {}).get("Key") or {}
                    for entry in request
                ]
        leading = [str((k.get("runId") or next(iter(k.values()))).get("S")) for k in keys if isinstance(k, dict) and k]
        return {"dynamodb:LeadingKeys": leading} if leading else {}

    def action_and_resources(self, service: str, target: str, body: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        operation = target.rsplit(".", 1)[-1]
        action = f"{_SIGNING_TO_PREFIX.get(service, service)}:{operation}"
        action = _BATCH_ACTIONS.get(action, action)
        return action, tuple(self._resources(service, operation, body))

    def _resources(self, service: str, operation: str, body: dict[str, Any]) -> list[str]:
        prefix = f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}"
        if service == "dynamodb":
            if "TableName" in body and "IndexName" in body:  # a query on an index is authorised on the index
                return [f"{prefix}:table/{body['TableName']}/index/{body['IndexName']}"]
            if "TableName" in body:
                return [f"{prefix}:table/{body['TableName']}"]
            return [f"{prefix}:table/{name}" for name in body.get("RequestItems", {})]
        if service == "sqs":
            return [f"{prefix}:{str(body['QueueUrl']).rstrip('/').rsplit('/', 1)[-1]}"]
        if service == "secretsmanager":
            return [self.full_secret_arn(str(body["SecretId"]))]
        if service == "ssm":
            names = [body["Name"]] if "Name" in body else list(body.get("Names", []))
            return [f"{prefix}:parameter/{str(name).lstrip('/')}" for name in names]
        if service == "events":
            buses = [str(entry.get("EventBusName") or "default") for entry in body.get("Entries", [])]
            return [b if b.startswith("arn:") else f"{prefix}:event-bus/{b}" for b in buses]
        return ["*"]


def _credential(authorization: str) -> tuple[str, str]:
    """(access key, signing service) from a SigV4 Authorization header."""
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    key, _date, _region, service, _ = scope.split("/")
    return key, service


def _make_handler(gate: IamGate) -> type[RelayHandler]:
    class Handler(RelayHandler):
        def _relay(self) -> None:
            body, headers = self.request_parts()
            key, service = _credential(self.headers.get("Authorization", "Credential=anonymous/x/x/x/x,"))
            target = self.headers.get("X-Amz-Target", "")
            if key in gate.principals and target:
                action, resources = gate.action_and_resources(service, target, json.loads(body or b"{}"))
                parsed = json.loads(body or b"{}")
                decision = gate.decide(key, action, resources, gate.context_of(service, parsed))
                if not decision.allowed:
                    message = (
                        f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/{key}/local is not authorized to perform: "
                        f"{action} on resource: {', '.join(resources)} because no identity-based policy allows "
                        f"the {action} action"
                    )
                    payload = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
                    self.answer(400, [("Content-Type", "application/x-amz-json-1.0")], payload)
                    return
            status, upstream_headers, payload = forward(gate.upstream, self.command, self.path, headers, body)
            self.answer(status, upstream_headers, payload)

        do_GET = do_POST = _relay

    return Handler
