"""AWS clients, made one way: imported only when first needed (boto3 costs ~0.3 s to import,
and local runs never need it), with the SDK's standard retry mode. Endpoint, region and
credentials come from the standard AWS variables (AWS_ENDPOINT_URL, AWS_REGION, ...)."""

from __future__ import annotations

from typing import Any

MAX_ATTEMPTS = 5


def aws_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, config=Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    )
