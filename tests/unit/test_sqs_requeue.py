"""The re-enqueue micro-batcher: coalesced sends, per-record outcomes."""

from __future__ import annotations

import threading

import pytest
from run_notifier.adapters.sqs_requeue import SqsRequeue
from run_notifier.domain.ports import RequeueFailed
from run_notifier.domain.watch_request import WatchRequest


class FakeSqs:
    def __init__(self, fail_ids=(), raise_error=False):
        self.calls = []
        self.fail_ids = set(fail_ids)
        self.raise_error = raise_error

    def send_message_batch(self, QueueUrl, Entries):
        self.calls.append(Entries)
        if self.raise_error:
            raise ConnectionError("down")
        failed = [e for e in Entries if '"runId": "bad' in e["MessageBody"]]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in Entries if e not in failed],
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "Message": "boom"} for e in failed],
        }


def _send_all(requeuer, run_ids):
    results = {}

    def send(run_id):
        try:
            results[run_id] = requeuer.send(WatchRequest(run_id, 1), 30)
        except RequeueFailed as error:
            results[run_id] = error

    threads = [threading.Thread(target=send, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    return results


def test_concurrent_sends_are_coalesced_into_batches_of_ten():
    sqs = FakeSqs()
    results = _send_all(SqsRequeue(sqs, "q", linger_secs=0.1), [f"run{i}" for i in range(25)])
    assert all(isinstance(v, str) for v in results.values())
    assert len(results) == 25
    assert sum(len(c) for c in sqs.calls) == 25
    assert all(len(c) <= 10 for c in sqs.calls)
    assert len(sqs.calls) <= 4
    assert all(e["DelaySeconds"] == 30 for c in sqs.calls for e in c)


def test_a_failed_entry_fails_only_its_own_caller():
    results = _send_all(SqsRequeue(FakeSqs(), "q", linger_secs=0.1), ["ok1", "bad1", "ok2"])
    assert isinstance(results["bad1"], RequeueFailed)
    assert "InternalError" in str(results["bad1"])
    assert isinstance(results["ok1"], str)
    assert isinstance(results["ok2"], str)


def test_a_failed_call_fails_every_caller_in_it():
    with pytest.raises(RequeueFailed, match="ConnectionError"):
        SqsRequeue(FakeSqs(raise_error=True), "q", linger_secs=0).send(WatchRequest("r", 0), 5)
