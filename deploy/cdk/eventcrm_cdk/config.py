"""The stack's settings, read from CDK context values (``eventcrm:<name>``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import constructs

#: Relative paths in context are relative to deploy/cdk/ (where cdk.json is).
CDK_DIR = Path(__file__).resolve().parents[1]
EMAIL_PROVIDERS = ("sendgrid", "smtp")


class ConfigError(ValueError):
    """A context value the stack cannot be built with."""


@dataclass(frozen=True)
class StackConfig:
    #: Browser origins allowed to call the API (HTTP API CORS and the app's own check).
    cors_origins: tuple[str, ...] = ()
    #: Where people reach the API (links in email); default: the HTTP API's own URL.
    public_url: str = ""
    #: The functions' code: a directory holding eventcrm and its dependencies for
    #: Linux ARM64 (deploy/cdk/bundle.sh builds it).
    lambda_asset: Path = CDK_DIR / "build" / "lambda"
    email_provider: str = "sendgrid"
    email_from: str = "eventcrm <eventcrm@example.org>"
    smtp_host: str = ""
    smtp_username: str = ""
    #: A Secrets Manager secret (name) holding EVENTCRM_SECRET_KEY; empty: the stack
    #: creates and keeps one.
    secret_key_secret_name: str = ""
    #: The SendGrid API key (sendgrid) or the SMTP password (smtp): the name of a
    #: Secrets Manager secret, or of an SSM SecureString parameter (not both).
    email_secret_name: str = ""
    email_secret_parameter: str = ""
    #: Who gets the alarms (an SNS email subscription); empty: the topic only.
    alarm_email: str = ""
    api_memory_mb: int = 1024
    worker_memory_mb: int = 512
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        if self.email_provider not in EMAIL_PROVIDERS:
            raise ConfigError(f"eventcrm:emailProvider must be one of {EMAIL_PROVIDERS}")
        if self.email_secret_name and self.email_secret_parameter:
            raise ConfigError(
                "name the email secret once: eventcrm:emailSecretName or "
                "eventcrm:emailSecretParameter"
            )
        if self.email_provider == "smtp" and not self.smtp_host:
            raise ConfigError("eventcrm:smtpHost is required with the smtp provider")
        for origin in self.cors_origins:
            if not origin.startswith(("https://", "http://")):
                raise ConfigError(f"eventcrm:corsOrigins: {origin!r} is not an origin")

    @classmethod
    def from_context(cls, node: constructs.Node) -> StackConfig:
        def value(name: str, default: Any) -> Any:
            found = node.try_get_context(f"eventcrm:{name}")
            return default if found is None or found == "" else found

        origins = value("corsOrigins", "")
        asset = Path(value("lambdaAsset", "build/lambda"))
        return cls(
            cors_origins=tuple(o.strip().rstrip("/") for o in str(origins).split(",") if o.strip()),
            public_url=str(value("publicUrl", "")),
            lambda_asset=asset if asset.is_absolute() else CDK_DIR / asset,
            email_provider=str(value("emailProvider", cls.email_provider)),
            email_from=str(value("emailFrom", cls.email_from)),
            smtp_host=str(value("smtpHost", "")),
            smtp_username=str(value("smtpUsername", "")),
            secret_key_secret_name=str(value("secretKeySecretName", "")),
            email_secret_name=str(value("emailSecretName", "")),
            email_secret_parameter=str(value("emailSecretParameter", "")),
            alarm_email=str(value("alarmEmail", "")),
            api_memory_mb=int(value("apiMemoryMb", cls.api_memory_mb)),
            worker_memory_mb=int(value("workerMemoryMb", cls.worker_memory_mb)),
            log_retention_days=int(value("logRetentionDays", cls.log_retention_days)),
        )
