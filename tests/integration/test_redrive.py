"""scripts/redrive.py: the DLQ back to the run queue, in batches against moto's server, and SQS's move
task's progress against a recorded sequence of its answers."""

from __future__ import annotations

import json
import os

from conftest import run_script

from localdev.aws import aws_env


def _script():
    from scripts import redrive

    return redrive


def test_redrive_in_batches_moves_every_dead_message_back(moto_endpoint, aws_session, resources):
    sqs = aws_session.client("sqs")
    bodies = [json.dumps({"runId": f"RunDead{i:09d}"}) for i in range(23)]
    for body in bodies:
        sqs.send_message(QueueUrl=resources.dlq_url, MessageBody=body)
    result = run_script(
        "redrive",
        ["--dlq-url", resources.dlq_url, "--queue-url", resources.queue_url, "--in-batches"],
        {**os.environ, **aws_env(moto_endpoint)},
    )
    assert result.returncode == 0, result.stderr
    assert "23 message(s) in the DLQ" in result.stdout
    assert "moved 23 message(s) back to the run queue" in result.stdout
    moved = []
    for _ in range(6):
        moved += sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in moved) == sorted(bodies)
    assert sqs.receive_message(QueueUrl=resources.dlq_url).get("Messages", []) == []


HANDLE = "eyJ0YXNrSWQiOiJkYzE2OWUwNC0wZTU1LTQ0ZDItYWE5MC1jMDgwY2ExZjM2ZjciLCJzb3VyY2VBcm4iOiJhcm4"


class MoveTasks:
    """SQS's StartMessageMoveTask / ListMessageMoveTasks answers, in the documented shapes
    (moto has no message move tasks)."""

    def __init__(self, statuses: list[tuple[str, int]]) -> None:
        self.statuses = statuses
        self.started: list[str] = []

    def start_message_move_task(self, SourceArn: str) -> dict:
        self.started.append(SourceArn)
        return {"TaskHandle": HANDLE}

    def list_message_move_tasks(self, SourceArn: str, MaxResults: int) -> dict:
        status, moved = self.statuses.pop(0)
        task = {
            "TaskHandle": HANDLE,
            "Status": status,
            "SourceArn": SourceArn,
            "ApproximateNumberOfMessagesMoved": moved,
            "ApproximateNumberOfMessagesToMove": 40,
        }
        if status == "FAILED":
            task["FailureReason"] = "AWS.SimpleQueueService.NonExistentQueue"
        return {"Results": [task]}


def test_the_move_task_is_followed_until_it_completes():
    lines: list[str] = []
    tasks = MoveTasks([("RUNNING", 10), ("RUNNING", 30), ("COMPLETED", 40)])
    assert _script().move_task(tasks, "arn:aws:sqs:us-east-1:123456789012:dlq", lines.append, lambda _: None)
    assert tasks.started == ["arn:aws:sqs:us-east-1:123456789012:dlq"]
    assert lines[1:] == ["  RUNNING: 10 of 40 moved", "  RUNNING: 30 of 40 moved", "  COMPLETED: 40 of 40 moved"]


def test_a_failed_move_task_says_why():
    lines: list[str] = []
    tasks = MoveTasks([("RUNNING", 5), ("FAILED", 5)])
    assert not _script().move_task(tasks, "arn:aws:sqs:us-east-1:123456789012:dlq", lines.append, lambda _: None)
    assert lines[-1] == "  the move task failed: AWS.SimpleQueueService.NonExistentQueue"
