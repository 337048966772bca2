"""The intake's HTTP entry point (Lambda Function URL, payload format 2.0): auth, route, enqueue.

Routes (Powertools' event handler): `POST /apify/webhooks` (Apify's webhook payload),
`POST /runs` (`{"runIds": [...]}`) and `POST /mutes` (mute an Actor's or task's chat alerts, or
lift a mute; it takes the `/runs` token), each with its own bearer token when `RUNS_TOKEN_SECRET_ARN`
is set: the webhook token is the only one that may say a run is pushed (`X-Run-Notifier-Push`),
so a CI token cannot move a run's watch onto the safety-net schedule. It only validates and
enqueues: every decision about a run is the watcher's, and its exactly-once claims make
duplicates harmless. Errors are
shaped like Apify's (`{"error": {"type", "message"}}`); nothing is enqueued for any 4xx; a
queue that refuses answers 503 so that Apify retries the dispatch.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from run_notifier.adapters.intake_tokens import IntakeTokens, TokenUnavailable
from run_notifier.adapters.sqs_enqueue import EnqueueFailed
from run_notifier.domain.events import IntakeEnqueued, IntakeIgnored, IntakeQueueRefused, IntakeRequestRefused
from run_notifier.domain.intake_request import (
    IntakeDecision,
    IntakeRefused,
    check_size,
    from_apify_webhook,
    from_run_list,
    mute_request,
)
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.mutes import Mute
from run_notifier.domain.push import PUSH_HEADER
from run_notifier.observability import events, logger, metrics
from run_notifier.wiring import IntakeComponents

__all__ = ["IntakeComponents", "make_intake_handler"]

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
ROUTES: dict[str, Callable[[bytes], Any]] = {
    "/apify/webhooks": from_apify_webhook,
    "/runs": from_run_list,
    "/mutes": mute_request,
}


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def _raw_method(event: dict[str, Any]) -> str | None:
    """The request's method as sent (Powertools' router upper-cases it before matching)."""
    http = (event.get("requestContext") or {}).get("http") or {}
    method = http.get("method") if isinstance(http, dict) else None
    return method if isinstance(method, str) else None


def _error(status: int, error_type: str, message: str) -> Response[str]:
    return _json(status, {"error": {"type": error_type, "message": message}})


def make_intake_handler(components: IntakeComponents) -> Handler:
    """The intake's Lambda handler: authenticate, validate, enqueue; nothing is enqueued for a 4xx,
    and a refused enqueue answers 503 so that Apify retries."""
    # debug=False whatever POWERTOOLS_DEV says: its debug mode prints every event, bearer token and all.
    app = LambdaFunctionUrlResolver(debug=False)

    def raw_body() -> bytes:
        event = app.current_event
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise IntakeRefused(400, "invalid-input", "body is not valid base64") from None
        # Any code point survives to the parser (which refuses what is not a run ID): lone surrogates
        # too, which "surrogateescape" would raise on.
        return body.encode("utf-8", errors="surrogatepass")

    def authorise(tokens: IntakeTokens, other: IntakeTokens | None, other_job: str) -> None:
        """Raises IntakeRefused (401) unless the request carries this route's token; the message
        says so when it carries the other route's token (only its holder can learn that)."""
        authorization = app.current_event.headers.get("authorization")
        if tokens.matches(authorization):
            return
        if other is not None and other.matches(authorization):
            raise IntakeRefused(401, "token-not-valid", f"this is the token for {other_job}, not for this route")
        raise IntakeRefused(401, "token-not-valid", "missing or wrong Authorization: Bearer token")

    def checked_body(webhooks: bool) -> bytes | Response[str]:
        """The body of an authorised POST (a Response: why not). Apify's webhooks take the webhook
        token; `/runs` and `/mutes` the runs token (the webhook token when there is none)."""
        if _raw_method(app.current_event.raw_event) != "POST":  # HTTP methods are case-sensitive
            return _error(405, "method-not-allowed", "use POST")
        push_header = app.current_event.headers.get(PUSH_HEADER.lower())
        runs_tokens = components.runs_tokens
        try:
            if not webhooks and runs_tokens is not None:
                authorise(runs_tokens, components.tokens, "Apify's webhooks (POST /apify/webhooks)")
            elif not webhooks:
                authorise(components.tokens, None, "")
            else:
                authorise(components.tokens, runs_tokens, "POST /runs")
        except TokenUnavailable:
            return _error(503, "service-unavailable", "the intake cannot check tokens right now; retry later")
        if not webhooks and push_header is not None:
            raise IntakeRefused(400, "invalid-input", f"{PUSH_HEADER} is for Apify's webhooks only")
        body = raw_body()
        check_size(body)
        content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise IntakeRefused(415, "unsupported-media-type", "send the body as Content-Type: application/json")
        return body

    def accept(parse: Callable[[bytes], IntakeDecision]) -> Response[str]:
        push_header = app.current_event.headers.get(PUSH_HEADER.lower())
        body = checked_body(webhooks=parse is from_apify_webhook)
        if isinstance(body, Response):
            return body
        decision = parse(body)
        if decision.is_test:
            events.emit(IntakeIgnored("TEST"))
            return _json(200, {"ok": True, "enqueued": False})
        if not decision.run_ids:
            events.emit(IntakeIgnored(decision.event_type))
            return _json(202, {"eventType": decision.event_type, "enqueued": False})
        try:
            delay = decision.delay_secs(components.clock(), components.settle_secs)
            components.queue.enqueue(decision.run_ids, decision.message_fields(push_header), delay)
        except EnqueueFailed as error:
            events.emit(IntakeQueueRefused(str(error)))
            return _error(503, "service-unavailable", "the run queue is unavailable; retry later")
        events.emit(IntakeEnqueued(tuple(decision.run_ids)[:10], len(decision.run_ids), decision.event_type))
        if parse is from_run_list:
            return _json(202, {"runIds": list(decision.run_ids), "enqueued": True})
        return _json(202, {"runId": decision.run_ids[0], "enqueued": True})

    @app.post("/apify/webhooks")
    def apify_webhook() -> Response[str]:
        return accept(from_apify_webhook)

    @app.post("/runs")
    def runs() -> Response[str]:
        return accept(from_run_list)

    @app.post("/mutes")
    def mutes() -> Response[str]:
        body = checked_body(webhooks=False)
        if isinstance(body, Response):
            return body
        request = mute_request(body)
        if components.mutes is None:
            return _error(503, "service-unavailable", "this intake has no runs table to keep mutes in")
        if request.unmute:
            if not components.mutes.remove(request.subject):
                return _error(404, "record-not-found", f"{request.subject} has no mute")
            return _json(200, {"unmuted": request.subject})
        now = components.clock()
        until = format_iso(now + timedelta(seconds=request.duration_secs))
        components.mutes.add(Mute(request.subject, until, request.reason, format_iso(now)))
        return _json(201, {"mute": {"subject": request.subject, "until": until, "reason": request.reason}})

    @app.route("/apify/webhooks", method=["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    @app.route("/runs", method=["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    @app.route("/mutes", method=["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    def wrong_method() -> Response[str]:
        return _error(405, "method-not-allowed", "use POST")

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        if app.current_event.path in ROUTES:  # TRACE, CONNECT or any other method on a known path
            return _error(405, "method-not-allowed", "use POST")
        return _error(404, "page-not-found", f"no route; use POST {' or POST '.join(ROUTES)}")

    @app.exception_handler(IntakeRefused)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def refused(error: IntakeRefused) -> Response[str]:
        events.emit(IntakeRequestRefused(error.status, error.error_type, str(error)))
        return _error(error.status, error.error_type, str(error))

    @logger.inject_lambda_context(clear_state=True, log_event=False)  # events carry tokens: never logged
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler
