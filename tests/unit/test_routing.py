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


GRANTED = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jobs-whsec"
PREFIX = "arn:aws:events:us-east-1:123456789012:event-bus/"


def _grants():
    from run_notifier.domain.grants import Grants

    return Grants(frozenset({GRANTED}), frozenset({PREFIX + "runs", PREFIX + "jobs"}), PREFIX)


@pytest.mark.parametrize(
    "route",
    [
        {"webhook": {"url": "https://h.example.com", "secretArn": GRANTED}},
        {"webhook": {"url": "https://h.example.com", "secretArn": GRANTED + "-AbCdEf"}},  # the full ARN of it
        {"teams": {"webhookUrlSecretArn": GRANTED}},
        {"eventbridge": {"eventBusName": "jobs"}},
        {"eventbridge": {"eventBusName": PREFIX + "runs"}},
        {"slack": False, "eventbridge": False},
    ],
)
def test_routes_naming_what_the_role_is_granted_pass(route):
    from run_notifier.domain.grants import check_routes

    check_routes(parse_routes(json.dumps({"routes": [{"match": {}}, {"match": {}, **route}]}), SCHEMAS), _grants())


@pytest.mark.parametrize(
    ("route", "says"),
    [
        ({"webhook": {"url": "https://h.example.com", "secretArn": GRANTED + "2"}}, "RoutedSecretArns"),
        ({"discord": {"webhookUrlSecretArn": GRANTED[:-1]}}, "RoutedSecretArns"),
        ({"slack": {"webhookUrlSecretArn": GRANTED + "-AbCdEfG"}}, "RoutedSecretArns"),  # not a 6-character suffix
        ({"eventbridge": {"eventBusName": "billing"}}, f"add {PREFIX}billing to the RoutedEventBusArns"),
    ],
)
def test_a_route_naming_an_ungranted_secret_or_bus_is_refused_with_its_index_and_what_to_add(route, says):
    from run_notifier.domain.grants import check_routes

    routes = parse_routes(json.dumps({"routes": [{"match": {}}, {"match": {}, **route}]}), SCHEMAS)
    with pytest.raises(RoutesError, match=r"^routes\[1\]\.") as refused:
        check_routes(routes, _grants())
    assert says in str(refused.value)


def test_the_watchers_cold_start_stops_on_an_inline_route_naming_an_ungranted_secret():
    import boto3
    from run_notifier.config import load_settings
    from run_notifier.wiring import build_components

    env = {
        "RUNS_TABLE_NAME": "runs",
        "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/runs",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
        "ROUTED_SECRET_ARNS": GRANTED,
        "ROUTED_EVENT_BUS_ARNS": "",
        "ROUTES_JSON": json.dumps(
            {"routes": [{"match": {}, "webhook": {"url": "https://h.example.com", "secretArn": GRANTED + "2"}}]}
        ),
    }
    with pytest.raises(
        RoutesError, match=r"routes\[0\]\.webhook\.secretArn .* add .*jobs-whsec2 to the RoutedSecretArns"
    ):
        build_components(load_settings(env), boto3.session.Session(region_name="us-east-1"))
    without_grants = {k: v for k, v in env.items() if not k.startswith("ROUTED_")}
    build_components(
        load_settings(without_grants), boto3.session.Session(region_name="us-east-1")
    )  # local use: unchecked


# --- a routes document is refused whole, naming the key, for what it could never mean -------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"routes": [{"match": {"status": ["FAILD"]}}]}, r"routes\[0\]\.match\.status has unknown values \['FAILD'\]"),
        ({"routes": [], "digest": []}, r"unknown keys \['digest'\]"),
        ({"routes": [{"match": {"health": "BAD"}}]}, r"routes\[0\]\.match\.health has unknown values"),
        (
            {"routes": [{"match": {"status": "SUCCEEDED"}, "incident": {"after": 2, "on": ["FAILED"]}}]},
            r"routes\[0\]\.incident can never open",
        ),
        (
            {"routes": [{"quietHours": {"from": "22:00", "to": "07:00", "timezone": "America"}}]},
            r"routes\[0\]\.quietHours\.timezone must be an IANA time zone",
        ),
        (
            {"routes": [{"quietHours": {"from": "22:00", "to": "07:00", "timezone": "Europe/" + "x" * 300}}]},
            r"routes\[0\]\.quietHours\.timezone must be an IANA time zone",
        ),
    ],
)
def test_a_document_that_could_never_mean_what_it_says_is_refused_naming_the_key(document, message):
    with pytest.raises(RoutesError, match=message):
        parse_routes(json.dumps(document), SCHEMAS)


def test_a_satisfiable_incident_rule_and_known_statuses_still_parse():
    document = {
        "routes": [
            {"match": {"status": ["SUCCEEDED"]}, "incident": {"after": 2, "on": ["WARN"]}},
            {"match": {"status": ["FAILED", "RUNNING"]}, "incident": {"after": 3}},
        ]
    }
    routes = parse_routes(json.dumps(document), SCHEMAS)
    assert [r.incident is not None for r in routes.routes] == [True, True]


def test_a_digest_zone_naming_a_directory_is_refused_naming_the_digest():
    from run_notifier.domain.report_specs import parse_report_specs

    document = {
        "routes": [],
        "digests": [{"name": "d", "channel": "C0", "every": "day", "at": "09:00", "timezone": "America"}],
    }
    with pytest.raises(RoutesError, match=r"digests\[0\]\.timezone"):
        parse_report_specs(json.dumps(document))
