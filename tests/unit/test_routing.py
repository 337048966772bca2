from __future__ import annotations

import json

import pytest
from run_notifier.destinations import SCHEMAS
from run_notifier.domain.routing import RoutesError, parse_routes
from run_notifier.domain.run_summary import RunSummary

DOC = {
    "routes": [
        {"match": {"status": ["FAILED", "TIMED-OUT"], "actId": "A1"}, "slack": {"webhookUrlSecretArn": "arn:x"}},
        {"match": {"actorTaskId": ["T1"]}, "slack": False, "webhook": {"url": "https://jobs.example.com/h"}},
    ]
}


def test_first_matching_route_decides_per_kind():
    routes = parse_routes(json.dumps(DOC), SCHEMAS)
    failed = routes.targets_for(RunSummary(run_id="r", status="FAILED", act_id="A1"))
    every_default = dict.fromkeys(SCHEMAS, True)
    assert failed == {**every_default, "slack": {"webhookUrlSecretArn": "arn:x"}}
    task = routes.targets_for(RunSummary(run_id="r", status="SUCCEEDED", act_id="A1", actor_task_id="T1"))
    assert task["slack"] is False
    assert task["webhook"] == {"url": "https://jobs.example.com/h"}
    other = routes.targets_for(RunSummary(run_id="r", status="SUCCEEDED", act_id="A2"))
    assert other == every_default  # followUp's True still builds nothing: it has no default target


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{", "not JSON"),
        ("[]", '"routes" list'),
        ('{"routes": [{"match": {"colour": "red"}}]}', "match may only hold"),
        ('{"routes": [{"slack": true}]}', "must be false or an object"),
        ('{"routes": [{"webhook": {"secretArn": "arn"}}]}', "including one of"),
        ('{"routes": [{"sms": false}]}', "unknown keys"),
        ("[" * 5000 + "]" * 5000, "nested too deeply|not JSON|routes"),
    ],
)
def test_invalid_documents_say_where(doc, message):
    with pytest.raises(RoutesError, match=message):
        parse_routes(doc, SCHEMAS)
