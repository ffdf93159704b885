"""AWS clients, made one way: imported only when first needed (boto3 costs ~0.3 s to import,
and local runs never need it), with the SDK's standard retry mode. Endpoint, region and
credentials come from the standard AWS variables (AWS_ENDPOINT_URL, AWS_REGION, ...)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from handler.core.errors import ConfigError

MAX_ATTEMPTS = 5

# Every AWS service the code calls, and so every botocore API model the Lambda bundle keeps
# (scripts/package.py reads this; the deployment rehearsal fails if one is missing). STS is
# not called directly: botocore needs its model to resolve web-identity and role credentials.
SERVICES_CALLED: frozenset[str] = frozenset({"s3", "sqs", "events"})
BUNDLED_SERVICES: frozenset[str] = SERVICES_CALLED | {"sts"}


def aws_client(service: str) -> Any:
    if service not in SERVICES_CALLED:  # a new service must be added above, or the bundle lacks it
        raise ValueError(f"aws_client({service!r}): add it to handler.core.aws.SERVICES_CALLED")
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client(
            service, config=Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
        )
    except (ValueError, BotoCoreError) as exc:  # e.g. AWS_ENDPOINT_URL=not-a-url, no region
        raise ConfigError(f"cannot make an AWS {service} client: {exc}") from exc


class SqsQueue:
    """An SQS queue by URL; its client is made on first use (a test may assign its own)."""

    def __init__(self, url: str | None, client: Any = None) -> None:
        self.url = url
        if client is not None:
            self.client = client

    @cached_property
    def client(self) -> Any:
        return aws_client("sqs")
