"""The arming adapter against the Apify simulator over real HTTP: refusals, retries, the token's absence."""

from __future__ import annotations

import pytest
from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.push_arming import ApifyPushArming, idempotency_key
from run_notifier.adapters.secret_store import Secret, SecretUnavailable
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import ApifyUnavailable
from run_notifier.domain.push import PushMode

PUSH_URL = "http://127.0.0.1:9/apify/webhooks"
RUN = "RunArming000001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def arming(sim, clock: Clock | None = None, token=lambda: Secret("intake-token-7f3a9c0d2b")) -> ApifyPushArming:
    client = ApifyClient(sim.base_url, lambda: Secret(sim.token or ""), HttpClient(pool_size=2), sleep=lambda _: None)
    return ApifyPushArming(client, PUSH_URL, token, clock=clock or Clock())


def test_a_403_turns_push_off_with_apifys_reason_and_the_container_stops_asking_for_a_while(sim, log_output):
    clock = Clock()
    arm = arming(sim, clock)
    sim.inject_webhooks(403)
    first = arm.arm(RUN, Deadline.after(10))
    assert first.mode is PushMode.OFF
    assert "403 insufficient-permissions" in first.reason
    second = arm.arm("RunArming000002", Deadline.after(10))
    assert second.mode is PushMode.OFF
    assert second.reason.startswith("not asked: ")
    assert sim.webhook_creates == [403]  # the second run cost no call
    clock.now += 601
    assert arm.arm("RunArming000003", Deadline.after(10)).mode is PushMode.ADHOC
    warned = [line for line in log_output() if line["message"].startswith("Apify refused to create webhooks")]
    assert len(warned) == 1


def test_a_400_turns_push_off_for_that_run_only(sim):
    arm = arming(sim)
    sim.inject_webhooks(400)
    assert arm.arm(RUN, Deadline.after(10)).mode is PushMode.OFF
    assert arm.arm("RunArming000002", Deadline.after(10)).mode is PushMode.ADHOC


def test_429s_are_retried_with_the_same_key_and_make_one_webhook(sim):
    arm = arming(sim)
    sim.inject_webhooks(429, 500)
    armed = arm.arm(RUN, Deadline.after(10))
    assert armed.mode is PushMode.ADHOC
    assert sim.webhook_creates == [429, 500, 201]
    assert len(sim.webhooks.webhooks) == 1


def test_apify_unreachable_is_not_a_refusal(sim):
    arm = arming(sim)
    sim.inject_webhooks(*([503] * 20))
    with pytest.raises(ApifyUnavailable):
        arm.arm(RUN, Deadline.after(3))


def test_without_the_intake_token_push_is_not_armed_now_but_not_refused(sim):
    def missing() -> Secret:
        raise SecretUnavailable("could not read the intake token secret: GetParameterError")

    with pytest.raises(ApifyUnavailable, match="intake token"):
        arming(sim, token=missing).arm(RUN, Deadline.after(10))
    assert sim.webhook_creates == []


def test_the_key_is_per_run_and_per_deployment():
    assert idempotency_key(PUSH_URL, RUN) == idempotency_key(PUSH_URL, RUN)
    assert idempotency_key(PUSH_URL, RUN) != idempotency_key(PUSH_URL, "RunArming000002")
    assert idempotency_key(PUSH_URL, RUN) != idempotency_key("https://other.example/apify/webhooks", RUN)


def test_the_arming_budget_takes_one_write_a_take_and_two_for_a_seconds_first(aws_session, resources):
    """The budget item is a burst's hot key: a take within a second already begun, granted or refused,
    is one conditional write; only the second's first take costs two. A third of each second's creates
    (at least one) is kept for Actors' webhooks."""
    from run_notifier.adapters.arming_budget import ArmingBudget
    from run_notifier.adapters.dynamodb import RunsTable

    client = aws_session.client("dynamodb")
    writes: list[str] = []
    client.meta.events.register("before-call.dynamodb.UpdateItem", lambda **_: writes.append("w"))
    clock = [1_000.2]
    budget = ArmingBudget(RunsTable(client, resources.table_name), 3, clock=lambda: clock[0])
    assert [budget.take() for _ in range(4)] == [True, True, False, False]  # 3 a second, the last one kept
    assert budget.take(for_actor=True) is True
    assert budget.take(for_actor=True) is False
    assert len(writes) == 2 + 1 + 1 + 1 + 1 + 1
    clock[0] = 1_001.0
    writes.clear()
    assert budget.take() is True
    assert len(writes) == 2  # the new second's first take


def test_a_third_of_each_seconds_creates_is_kept_for_actor_webhooks():
    from run_notifier.adapters.arming_budget import per_run_limit

    assert [per_run_limit(n) for n in (1, 2, 3, 30, 60)] == [1, 1, 2, 20, 40]
