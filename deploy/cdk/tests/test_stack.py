"""The eventcrm stack, synthesised and checked with aws_cdk.assertions.Template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from eventcrm_cdk import table_design
from eventcrm_cdk.config import CDK_DIR, ConfigError, StackConfig
from eventcrm_cdk.stack import BACKLOG_ALARM_SECONDS, WORKER_BUDGET_SECONDS, EventcrmStack

from eventcrm.lambda_handler import (
    BACKLOG_AGE_METRIC,
    METRICS_NAMESPACE,
    TIMEOUT_RESERVE_SECONDS,
)

#: The package sources stand in for the bundle deploy/cdk/bundle.sh builds: the
#: template does not depend on what the asset holds.
ASSET = Path(__file__).resolve().parents[3] / "src"
ORIGINS = "https://app.example.org,https://admin.example.org"


def synthesise(**context: Any) -> Template:
    app = cdk.App(
        context={
            "eventcrm:lambdaAsset": str(ASSET),
            **{f"eventcrm:{name}": value for name, value in context.items()},
        }
    )
    stack = EventcrmStack(app, "Test", config=StackConfig.from_context(app.node))
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesise(corsOrigins=ORIGINS, emailSecretParameter="/eventcrm/sendgrid-api-key")


def only(template: Template, kind: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    found = template.find_resources(kind, {"Properties": props} if props else None)
    assert len(found) == 1, found
    (resource,) = found.values()
    return dict(resource)


def function(template: Template, handler: str) -> dict[str, Any]:
    return only(template, "AWS::Lambda::Function", {"Handler": handler})


def policy_statements(template: Template) -> Iterator[dict[str, Any]]:
    for policy in template.find_resources("AWS::IAM::Policy").values():
        yield from policy["Properties"]["PolicyDocument"]["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the table ---------------------------------------------------------------------------


def test_the_table_is_on_demand_with_recovery_and_expiry(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {
                "AttributeName": table_design.TTL_ATTRIBUTE,
                "Enabled": True,
            },
            "KeySchema": [
                {"AttributeName": table_design.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": table_design.SORT_KEY, "KeyType": "RANGE"},
            ],
            "DeletionProtectionEnabled": True,
        },
    )
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})


def test_the_table_has_the_designed_indexes(template: Template) -> None:
    table = only(template, "AWS::DynamoDB::Table")
    indexes = {
        index["IndexName"]: (
            [k["AttributeName"] for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in table["Properties"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        index.name: ([index.partition_key, index.sort_key], "ALL")
        for index in table_design.GLOBAL_INDEXES
    }


# --- the functions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler", ["eventcrm.lambda_handler.handler", "eventcrm.lambda_handler.worker_handler"]
)
def test_both_functions_run_python_on_arm64_with_their_own_log_group(
    template: Template, handler: str
) -> None:
    properties = function(template, handler)["Properties"]
    assert properties["Architectures"] == ["arm64"]
    assert properties["Runtime"] == "python3.12"
    assert properties["MemorySize"] in (512, 1024)
    log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
    retention = template.to_json()["Resources"][log_group]["Properties"]["RetentionInDays"]
    assert retention == 30
    variables = properties["Environment"]["Variables"]
    table = next(iter(template.find_resources("AWS::DynamoDB::Table")))
    assert variables["EVENTCRM_DATABASE_URL"] == {"Fn::Join": ["", ["dynamodb://", {"Ref": table}]]}
    assert variables["EVENTCRM_CORS_ORIGINS"] == ORIGINS


def test_the_api_answers_within_api_gateways_limit(template: Template) -> None:
    properties = function(template, "eventcrm.lambda_handler.handler")["Properties"]
    assert properties["Timeout"] < 30
    assert properties["MemorySize"] == 1024


def test_the_worker_stops_draining_before_its_timeout(template: Template) -> None:
    properties = function(template, "eventcrm.lambda_handler.worker_handler")["Properties"]
    variables = properties["Environment"]["Variables"]
    assert variables["EVENTCRM_WORKER_TIME_BUDGET_SECONDS"] == str(WORKER_BUDGET_SECONDS)
    assert properties["Timeout"] > WORKER_BUDGET_SECONDS + TIMEOUT_RESERVE_SECONDS
    # Links in email point at the HTTP API unless a public URL is given.
    api = next(iter(template.find_resources("AWS::ApiGatewayV2::Api")))
    assert variables["EVENTCRM_PUBLIC_URL"] == {"Fn::GetAtt": [api, "ApiEndpoint"]}


def test_the_functions_are_told_where_their_secrets_are(template: Template) -> None:
    for handler in ("handler", "worker_handler"):
        variables = function(template, f"eventcrm.lambda_handler.{handler}")["Properties"][
            "Environment"
        ]["Variables"]
        secrets = json.dumps(variables["EVENTCRM_AWS_SECRETS"])
        assert "EVENTCRM_SECRET_KEY" in secrets
        assert "secretsmanager:" in secrets
        assert "EVENTCRM_SENDGRID_API_KEY" in secrets
        assert "ssm:/eventcrm/sendgrid-api-key" in secrets
        # No secret value is written into the template.
        assert "SecretString" not in secrets


def test_the_stack_creates_the_signing_key_unless_one_is_named() -> None:
    created = synthesise()
    created.resource_count_is("AWS::SecretsManager::Secret", 1)
    named = synthesise(secretKeySecretName="prod/eventcrm/secret-key")
    named.resource_count_is("AWS::SecretsManager::Secret", 0)


# --- the HTTP API and the schedule -------------------------------------------------------


def test_the_http_api_allows_the_configured_origins(template: Template) -> None:
    api = only(template, "AWS::ApiGatewayV2::Api")["Properties"]
    assert api["ProtocolType"] == "HTTP"
    cors = api["CorsConfiguration"]
    assert cors["AllowOrigins"] == ORIGINS.split(",")
    assert "Authorization" in cors["AllowHeaders"]
    assert "Location" in cors["ExposeHeaders"]


def test_without_origins_the_api_has_no_cors() -> None:
    api = only(synthesise(), "AWS::ApiGatewayV2::Api")["Properties"]
    assert "CorsConfiguration" not in api


def test_every_request_goes_to_the_api_function(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "Target": Match.any_value()}
    )
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"},
    )


def test_the_worker_runs_every_minute(template: Template) -> None:
    rule = only(template, "AWS::Events::Rule")["Properties"]
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Targets"]
    worker = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "eventcrm.lambda_handler.worker_handler"}},
    )
    assert target["Arn"] == {"Fn::GetAtt": [next(iter(worker)), "Arn"]}


# --- least privilege ---------------------------------------------------------------------


def test_no_statement_allows_every_action_or_every_resource(template: Template) -> None:
    statements = list(policy_statements(template))
    assert statements
    for statement in statements:
        actions = as_list(statement["Action"])
        assert "*" not in actions, statement
        assert not any(a.endswith(":*") for a in actions), statement
        assert "*" not in as_list(statement["Resource"]), statement


def test_the_functions_use_only_this_table(template: Template) -> None:
    table = next(iter(template.find_resources("AWS::DynamoDB::Table")))
    data = [s for s in policy_statements(template) if "dynamodb:" in json.dumps(s["Action"])]
    assert len(data) == 2  # one per function
    for statement in data:
        assert sorted(as_list(statement["Action"])) == sorted(table_design.DATA_ACTIONS)
        resources = json.dumps(statement["Resource"])
        assert resources.count(table) == 2  # the table and its indexes
        assert "/index/*" in resources


def test_secrets_are_readable_only_by_name(template: Template) -> None:
    reads = [
        s
        for s in policy_statements(template)
        if any(a.startswith(("secretsmanager:", "ssm:")) for a in as_list(s["Action"]))
    ]
    assert reads
    for statement in reads:
        actions = as_list(statement["Action"])
        assert not {"secretsmanager:PutSecretValue", "ssm:PutParameter"} & set(actions)
        text = json.dumps(statement["Resource"])
        assert "SecretKey" in text or "parameter/eventcrm/sendgrid-api-key" in text


def test_the_roles_carry_no_managed_policy(template: Template) -> None:
    # Not even AWSLambdaBasicExecutionRole: it may write to every log group.
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


# --- alarms ------------------------------------------------------------------------------


def test_errors_and_throttles_of_both_functions_raise_alarms(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    by_metric: dict[str, int] = {}
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"], properties
        if properties.get("Namespace") == "AWS/Lambda":
            by_metric[properties["MetricName"]] = by_metric.get(properties["MetricName"], 0) + 1
    assert by_metric == {"Errors": 2, "Throttles": 2}


def test_a_waiting_delivery_queue_raises_an_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": METRICS_NAMESPACE,
            "MetricName": BACKLOG_AGE_METRIC,
            "Dimensions": [{"Name": "FunctionName", "Value": Match.any_value()}],
            "Threshold": BACKLOG_ALARM_SECONDS,
            "TreatMissingData": "breaching",
        },
    )


def test_alarms_reach_the_given_address() -> None:
    synthesise(alarmEmail="ops@example.org").has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.org"}
    )


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"emailProvider": "pigeon"}, "emailProvider"),
        ({"emailProvider": "smtp"}, "smtpHost"),
        ({"emailSecretName": "a", "emailSecretParameter": "/b"}, "once"),
        ({"corsOrigins": "app.example.org"}, "not an origin"),
    ],
)
def test_a_bad_context_value_is_refused(context: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        synthesise(**context)


def test_cdk_synth_runs_the_app(tmp_path: Path) -> None:
    # What `cdk synth` does: run cdk.json's app with CDK_OUTDIR and the context set.
    app = json.loads((CDK_DIR / "cdk.json").read_text())["app"].split()
    assert app == ["python3", "app.py"]
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps(
            {"eventcrm:lambdaAsset": str(ASSET), "eventcrm:corsOrigins": ORIGINS}
        ),
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=CDK_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "Eventcrm" in manifest["artifacts"]
    synthesised = json.loads((tmp_path / "Eventcrm.template.json").read_text())
    kinds = {r["Type"] for r in synthesised["Resources"].values()}
    assert {
        "AWS::DynamoDB::Table",
        "AWS::Lambda::Function",
        "AWS::ApiGatewayV2::Api",
        "AWS::Events::Rule",
        "AWS::CloudWatch::Alarm",
    } <= kinds
