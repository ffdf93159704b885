"""S3 as the store. Endpoint, region and credentials come from the standard AWS variables
(``AWS_ENDPOINT_URL``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ...); nothing here is ntv-specific."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from handler.core.aws import aws_client
from handler.core.errors import ConflictError, StoreError
from handler.store.base import Versioned


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if client is not None:
            self.client = client

    @cached_property
    def client(self) -> Any:  # made on first use; a test may assign its own
        return aws_client("s3")

    def check_writable(self) -> None:
        """Nothing to check without a request; the first write's error is one line too."""

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def get(self, key: str) -> bytes | None:
        return self.read(key).data

    def read(self, key: str) -> Versioned:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return Versioned(bytes(response["Body"].read()), response["ETag"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return Versioned(None, None)
            raise StoreError(
                f"{self.describe()}: cannot read {key}: {_reason(exc)}", key=key
            ) from exc
        except BotoCoreError as exc:
            raise StoreError(f"{self.describe()}: cannot read {key}: {exc}", key=key) from exc

    def put_if(self, key: str, data: bytes, content_type: str, expected: str | None) -> None:
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            self._put(key, data, content_type, **condition)
        except StoreError as exc:
            if isinstance(exc.__cause__, Exception) and _code(exc.__cause__) in _CONFLICT_CODES:
                raise ConflictError(
                    f"{self.describe()}: {key} changed since it was read", key=key
                ) from exc
            raise

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"{self.describe()}: cannot delete {key}: {exc}", key=key) from exc

    def list(self, prefix: str) -> Iterator[str]:
        return (key for key, _size in self.sizes(prefix))

    def sizes(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Keys under ``prefix`` with their sizes in bytes, as the listing gives them."""
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"][len(self.prefix) :], int(obj.get("Size", 0))
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"{self.describe()}: cannot list {prefix}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._put(key, data, content_type)

    def _put(self, key: str, data: bytes, content_type: str, **condition: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + key,
                Body=data,
                ContentType=content_type,
                **condition,
            )
        except ClientError as exc:
            raise StoreError(
                f"{self.describe()}: cannot write {key}: {_reason(exc)}", key=key
            ) from exc
        except BotoCoreError as exc:
            raise StoreError(f"{self.describe()}: cannot write {key}: {exc}", key=key) from exc


# 412: the precondition failed; 409: a concurrent conditional write to the same key was in flight.
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _reason(exc: Any) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')} ({error.get('Message', '').strip() or 'no message'})"
