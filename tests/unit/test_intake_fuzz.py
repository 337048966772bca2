"""The intake against random requests: methods, paths, headers, bodies and encodings, judged by an
independent model of its documented contract (docs/deploy-and-operate.md, "The webhook intake").

Whatever arrives, the handler answers (no exception escapes), with a status the contract allows
for that request, and it enqueues exactly when it says so.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from run_notifier.adapters.intake_tokens import IntakeTokens
from run_notifier.adapters.secret_store import Secret
from run_notifier.function_url_handler import IntakeComponents, make_intake_handler

from localdev.lambda_context import FakeLambdaContext
from tests.integration.test_intake import url_event

TOKEN = "fuzz-intake-token-1b2c3d4e"
RUNS_TOKEN = "fuzz-runs-token-9e8d7c6b"
ROUTES = ("/apify/webhooks", "/runs", "/mutes")
RUN_EVENTS = ("ACTOR.RUN.CREATED", "ACTOR.RUN.RESURRECTED", "ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.FAILED")


class FakeMutes:
    def __init__(self) -> None:
        self.subjects: set[str] = set()

    def add(self, mute: Any) -> None:
        self.subjects.add(mute.subject)

    def remove(self, subject: str) -> bool:
        if subject in self.subjects:
            self.subjects.discard(subject)
            return True
        return False


class FakeQueue:
    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def enqueue(self, run_ids: Any, fields: Any = None, delay_secs: int = 0) -> None:
        self.enqueued.extend(run_ids)


def _tokens(token: str) -> IntakeTokens:
    return IntakeTokens(None, Secret(token), lambda: None, 300)


QUEUE = FakeQueue()
MUTES = FakeMutes()
#: One token for both routes (RUNS_TOKEN unset), and a token per route (RUNS_TOKEN set).
HANDLERS = {
    False: make_intake_handler(IntakeComponents(_tokens(TOKEN), QUEUE, None, MUTES)),  # type: ignore[arg-type]
    True: make_intake_handler(IntakeComponents(_tokens(TOKEN), QUEUE, _tokens(RUNS_TOKEN), MUTES)),  # type: ignore[arg-type]
}

texts = st.text(max_size=60)
run_ids = st.one_of(st.from_regex(r"[A-Za-z0-9]{1,64}", fullmatch=True), texts, st.integers(), st.none())
webhook_bodies = st.builds(
    lambda event, run_id: json.dumps(
        {"eventType": event, "eventData": {"actorRunId": run_id}, "resource": {"id": run_id}}
    ),
    st.one_of(st.sampled_from([*RUN_EVENTS, "TEST", "ACTOR.BUILD.SUCCEEDED"]), texts),
    run_ids,
)
run_list_bodies = st.builds(lambda ids: json.dumps({"runIds": ids}), st.lists(run_ids, max_size=120))
mute_bodies = st.dictionaries(
    st.sampled_from(["actor", "task", "for", "reason", "unmute", "colour"]),
    st.one_of(texts, st.sampled_from(["janedoe~web-scraper", "2h", "90s", "31d"]), st.booleans(), st.integers()),
    max_size=4,
).map(json.dumps)
bodies = st.one_of(
    webhook_bodies, run_list_bodies, mute_bodies, texts, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.one_of(st.sampled_from(ROUTES), st.sampled_from(["/", "/runs/", "/RUNS", "/mutes/", "/x"]), texts))
    method = draw(st.one_of(st.sampled_from(["POST", "post", "GET", "PUT", "TRACE", "OPTIONS"]), texts))
    token = draw(st.one_of(st.sampled_from([TOKEN, RUNS_TOKEN]), st.none(), texts))
    push = draw(st.one_of(st.none(), st.sampled_from(["actor", "adhoc"]), texts))
    content_type = draw(st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]))
    body = draw(bodies)
    encoded = draw(st.booleans())
    event = url_event(path, body, method=method, token=token, content_type=content_type, base64_encoded=encoded)
    if push is not None:
        event["headers"]["x-run-notifier-push"] = push
    separate = draw(st.booleans())
    expect = {"path": path, "method": method, "token": token, "content_type": content_type, "push": push}
    return {**event, "_expect": {**expect, "separate": separate}}


def allowed(request: dict[str, Any]) -> set[int]:
    """What the contract allows for this request (the body's own verdict is the parser's, tested elsewhere)."""
    expect = request["_expect"]
    if expect["path"] not in ROUTES:
        return {404}
    if expect["method"] != "POST":
        return {405}
    ours = expect["path"] in ("/runs", "/mutes")  # the runs token's routes
    route_token = RUNS_TOKEN if ours and expect["separate"] else TOKEN
    if expect["token"] != route_token:
        return {401}
    if ours and expect["push"] is not None:
        return {400}  # only Apify's webhooks may say a run is pushed
    if expect["content_type"].split(";")[0].strip() != "application/json":
        return {400, 413, 415}  # a bad base64 or an oversize body is judged before the media type
    if expect["path"] == "/mutes":
        return {200, 201, 400, 404, 413}  # muted, unmuted, refused, no such mute
    return {200, 202, 400, 413}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_every_request_gets_an_allowed_answer_and_enqueues_only_when_it_says_so(request):
    before = len(QUEUE.enqueued)
    event = {k: v for k, v in request.items() if k != "_expect"}
    answer = HANDLERS[request["_expect"]["separate"]](
        event, FakeLambdaContext(timeout_secs=10, function_name="WebhookIntakeFunction")
    )
    status = answer["statusCode"]
    assert status in allowed(request), (status, request["_expect"])
    body = json.loads(answer["body"])
    enqueued = QUEUE.enqueued[before:]
    if status == 202 and body.get("enqueued"):
        assert enqueued
        assert set(enqueued) == set(body.get("runIds") or [body.get("runId")])
    else:
        assert enqueued == []
        if status >= 400:
            assert set(body["error"]) == {"type", "message"}
