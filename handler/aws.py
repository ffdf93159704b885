"""AWS clients, made one way: imported only when first needed (boto3 costs ~0.3 s to import,
and local runs never need it), with the SDK's standard retry mode. Endpoint, region and
credentials come from the standard AWS variables (AWS_ENDPOINT_URL, AWS_REGION, ...)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

MAX_ATTEMPTS = 5


def aws_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, config=Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    )


class SqsQueue:
    """An SQS queue by URL; its client is made on first use (a test may assign its own)."""

    def __init__(self, url: str | None, client: Any = None) -> None:
        self.url = url
        if client is not None:
            self.client = client

    @cached_property
    def client(self) -> Any:
        return aws_client("sqs")
