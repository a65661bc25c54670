"""One stack: the DynamoDB table, the API and worker functions, the HTTP API, the
schedule, least-privilege roles, and alarms (docs/deploy.md)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import constructs
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm

from eventcrm.lambda_handler import BACKLOG_AGE_METRIC, METRIC_DIMENSION, METRICS_NAMESPACE
from eventcrm_cdk import table_design
from eventcrm_cdk.config import StackConfig

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
API_HANDLER = "eventcrm.lambda_handler.handler"
WORKER_HANDLER = "eventcrm.lambda_handler.worker_handler"
#: API Gateway gives up on an integration after 30 s.
API_TIMEOUT = cdk.Duration.seconds(29)
#: The worker drains for at most WORKER_BUDGET_SECONDS of each one-minute turn and
#: always stops short of its timeout (eventcrm.lambda_handler).
WORKER_TIMEOUT = cdk.Duration.seconds(90)
WORKER_BUDGET_SECONDS = 50
#: The oldest due delivery waiting longer than this raises the backlog alarm.
BACKLOG_ALARM_SECONDS = 900

RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class EventcrmStack(cdk.Stack):
    def __init__(
        self, scope: constructs.Construct, construct_id: str, *, config: StackConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if config.log_retention_days not in RETENTION:
            raise ValueError(f"eventcrm:logRetentionDays must be one of {sorted(RETENTION)}")
        self.config = config
        self.table = self._table()
        secrets = self._secrets()
        code = lambda_.Code.from_asset(str(config.lambda_asset))

        self.api_function = self._function(
            "Api",
            handler=API_HANDLER,
            code=code,
            memory_mb=config.api_memory_mb,
            timeout=API_TIMEOUT,
            environment=self._environment(public_url=config.public_url),
            description="eventcrm HTTP API (FastAPI through Mangum)",
        )
        self.http_api = apigw.HttpApi(
            self,
            "HttpApi",
            description="eventcrm",
            default_integration=integrations.HttpLambdaIntegration(
                "ApiIntegration", self.api_function
            ),
            cors_preflight=self._cors(),
        )
        self.worker_function = self._function(
            "Worker",
            handler=WORKER_HANDLER,
            code=code,
            memory_mb=config.worker_memory_mb,
            timeout=WORKER_TIMEOUT,
            # Links in email (unsubscribe) point at the API: its own URL unless told.
            environment=self._environment(
                public_url=config.public_url or self.http_api.api_endpoint
            ),
            description="eventcrm delivery worker (every minute)",
        )
        for function in (self.api_function, self.worker_function):
            self.table.grant(function, *table_design.DATA_ACTIONS)
            for grant in secrets.values():
                grant(function)
            function.add_environment(
                "EVENTCRM_AWS_SECRETS", self.to_json_string(self._secret_references(secrets))
            )
        self.schedule = events.Rule(
            self,
            "WorkerSchedule",
            description="Drain due email deliveries",
            schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
            # A missed turn is made up by the next one a minute later.
            targets=[targets.LambdaFunction(self.worker_function, retry_attempts=0)],
        )
        self.alarm_topic = self._alarms()

        cdk.CfnOutput(self, "ApiUrl", value=self.http_api.api_endpoint)
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)

    # --- storage -------------------------------------------------------------------

    def _table(self) -> dynamodb.Table:
        def key(name: str) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)

        table = dynamodb.Table(
            self,
            "Table",
            partition_key=key(table_design.PARTITION_KEY),
            sort_key=key(table_design.SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=table_design.TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for index in table_design.GLOBAL_INDEXES:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=key(index.partition_key),
                sort_key=key(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    # --- secrets ------------------------------------------------------------------------

    def _secrets(self) -> dict[str, Any]:
        """Environment variable → how a function is allowed to read its secret; the
        references themselves come from ``_secret_references``."""
        config = self.config
        if config.secret_key_secret_name:
            self.secret_key = secretsmanager.Secret.from_secret_name_v2(
                self, "SecretKey", config.secret_key_secret_name
            )
        else:
            self.secret_key = secretsmanager.Secret(
                self,
                "SecretKey",
                description="eventcrm: signs cursors and unsubscribe links (EVENTCRM_SECRET_KEY)",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=48, exclude_punctuation=True
                ),
            )
        grants: dict[str, Any] = {"EVENTCRM_SECRET_KEY": self.secret_key.grant_read}
        self._references = {
            "EVENTCRM_SECRET_KEY": f"secretsmanager:{self.secret_key.secret_name}"
            if config.secret_key_secret_name
            else f"secretsmanager:{self.secret_key.secret_arn}"
        }
        variable = (
            "EVENTCRM_SENDGRID_API_KEY"
            if config.email_provider == "sendgrid"
            else "EVENTCRM_SMTP_PASSWORD"
        )
        if config.email_secret_name:
            email_secret = secretsmanager.Secret.from_secret_name_v2(
                self, "EmailSecret", config.email_secret_name
            )
            grants[variable] = email_secret.grant_read
            self._references[variable] = f"secretsmanager:{config.email_secret_name}"
        elif config.email_secret_parameter:
            parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
                self, "EmailSecretParameter", parameter_name=config.email_secret_parameter
            )
            grants[variable] = parameter.grant_read
            self._references[variable] = f"ssm:{config.email_secret_parameter}"
        return grants

    def _secret_references(self, grants: dict[str, Any]) -> dict[str, str]:
        return {name: self._references[name] for name in grants}

    # --- functions ----------------------------------------------------------------------

    def _environment(self, *, public_url: str) -> dict[str, str]:
        config = self.config
        environment = {
            "EVENTCRM_DATABASE_URL": f"dynamodb://{self.table.table_name}",
            "EVENTCRM_EMAIL_PROVIDER": config.email_provider,
            "EVENTCRM_EMAIL_FROM": config.email_from,
            "EVENTCRM_CORS_ORIGINS": ",".join(config.cors_origins),
            "EVENTCRM_LOG_FORMAT": "json",
            "EVENTCRM_WORKER_TIME_BUDGET_SECONDS": str(WORKER_BUDGET_SECONDS),
            # The only writable place on Lambda; nothing is kept there between runs.
            "EVENTCRM_DATA_DIR": "/tmp/eventcrm",
            "EVENTCRM_OUTBOX_DIR": "/tmp/eventcrm/outbox",
        }
        if public_url:
            environment["EVENTCRM_PUBLIC_URL"] = public_url
        if config.email_provider == "smtp":
            environment["EVENTCRM_SMTP_HOST"] = config.smtp_host
            if config.smtp_username:
                environment["EVENTCRM_SMTP_USERNAME"] = config.smtp_username
        return environment

    def _function(
        self,
        name: str,
        *,
        handler: str,
        code: lambda_.Code,
        memory_mb: int,
        timeout: cdk.Duration,
        environment: dict[str, str],
        description: str,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=RETENTION[self.config.log_retention_days],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # A role of its own instead of the managed basic-execution policy (which may
        # write to every log group): this function's log group and nothing else.
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"eventcrm {name.lower()} function",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        return lambda_.Function(
            self,
            f"{name}Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            memory_size=memory_mb,
            timeout=timeout,
            environment=environment,
            role=role,
            log_group=log_group,
            description=description,
        )

    def _cors(self) -> apigw.CorsPreflightOptions | None:
        if not self.config.cors_origins:
            return None
        return apigw.CorsPreflightOptions(
            allow_origins=list(self.config.cors_origins),
            allow_methods=[
                apigw.CorsHttpMethod.GET,
                apigw.CorsHttpMethod.POST,
                apigw.CorsHttpMethod.PUT,
                apigw.CorsHttpMethod.PATCH,
                apigw.CorsHttpMethod.DELETE,
            ],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=[
                "Location",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Idempotent-Replayed",
                "X-Request-ID",
            ],
            max_age=cdk.Duration.minutes(10),
        )

    # --- alarms -------------------------------------------------------------------------

    def _alarms(self) -> sns.Topic:
        topic = sns.Topic(self, "Alarms", display_name="eventcrm alarms")
        if self.config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.config.alarm_email))
        action = cloudwatch_actions.SnsAction(topic)
        five_minutes = cdk.Duration.minutes(5)

        def alarm(name: str, metric: cloudwatch.IMetric, **options: Any) -> None:
            created = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=options.pop("threshold", 1),
                evaluation_periods=options.pop("evaluation_periods", 1),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=options.pop(
                    "treat_missing_data", cloudwatch.TreatMissingData.NOT_BREACHING
                ),
                **options,
            )
            created.add_alarm_action(action)

        for label, function in (("Api", self.api_function), ("Worker", self.worker_function)):
            alarm(
                f"{label}Errors",
                function.metric_errors(period=five_minutes, statistic="Sum"),
                alarm_description=f"The {label.lower()} function failed",
            )
            alarm(
                f"{label}Throttles",
                function.metric_throttles(period=five_minutes, statistic="Sum"),
                alarm_description=f"The {label.lower()} function was throttled",
            )
        alarm(
            "Api5xx",
            self.http_api.metric_server_error(period=five_minutes, statistic="Sum"),
            threshold=5,
            alarm_description="The HTTP API answered 5xx",
        )
        alarm(
            "TableThrottles",
            self.table.metric_throttled_requests_for_operations(
                operations=[
                    dynamodb.Operation.GET_ITEM,
                    dynamodb.Operation.PUT_ITEM,
                    dynamodb.Operation.UPDATE_ITEM,
                    dynamodb.Operation.DELETE_ITEM,
                    dynamodb.Operation.QUERY,
                    dynamodb.Operation.BATCH_WRITE_ITEM,
                    dynamodb.Operation.TRANSACT_WRITE_ITEMS,
                ],
                period=five_minutes,
            ),
            alarm_description="DynamoDB throttled requests",
        )
        # The delivery queue: how long its oldest due delivery has waited (the worker
        # reports it each minute). No report for 5 minutes counts as a breach too:
        # the worker is not running.
        alarm(
            "DeliveryBacklog",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=BACKLOG_AGE_METRIC,
                dimensions_map={METRIC_DIMENSION: self.worker_function.function_name},
                statistic="Maximum",
                period=cdk.Duration.minutes(1),
            ),
            threshold=BACKLOG_ALARM_SECONDS,
            evaluation_periods=5,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description="Email deliveries are waiting longer than 15 minutes",
        )
        return topic
