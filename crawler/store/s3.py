"""S3Store: objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2...), through boto3.

S3Store takes a ready boto3 client; only make_s3_client() builds one, with boto3's standard
credential chain (env, shared config/profile, instance or container role).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.store.base import ObjectNotFound, StoreError, check_key

logger = logging.getLogger(__name__)


def make_s3_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    addressing_style: str,
    max_pool_connections: int,
    max_attempts: int,
) -> Any:
    """A boto3 S3 client. None for endpoint/region means boto3's own configuration decides."""
    import boto3
    from botocore.config import Config

    # botocore's and urllib3's DEBUG output includes signed request headers (access key id,
    # a replayable signature): never let a verbose run write those into a log.
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))

    if addressing_style not in ("auto", "path", "virtual"):
        raise ValueError(f"S3 addressing style must be auto, path or virtual, not {addressing_style!r}")
    s3_options: Any = {"addressing_style": addressing_style}
    config = Config(
        s3=s3_options,
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=max_pool_connections,
        # SigV4 already hashes every payload over plain HTTP; an extra CRC32 per request (and its
        # aws-chunked trailer) would hash the same bytes twice. Checksums where S3 requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session()
    client = session.client("s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config)
    # botocore asks "Expect: 100-continue" before every PUT body, whatever its size: a round trip
    # and ~0.2-0.3 ms of CPU per object (300 PUTs against Ceph RGW). Only large bodies keep it.
    from botocore.handlers import add_expect_header

    client.meta.events.unregister("before-call.s3", add_expect_header)
    client.meta.events.register("before-call.s3", _expect_continue_for_large_bodies)
    return client


EXPECT_CONTINUE_MIN_BYTES = 8 * 1024 * 1024


def _expect_continue_for_large_bodies(model: Any, params: dict[str, Any], **_: Any) -> None:
    from botocore.utils import determine_content_length

    body = params.get("body")
    if model.http.get("method") in ("PUT", "POST") and hasattr(body, "read"):
        size = determine_content_length(body)
        if size is None or size >= EXPECT_CONTINUE_MIN_BYTES:
            params["headers"]["Expect"] = "100-continue"


def _describe(exc: Exception) -> str:
    """One line for a botocore/boto3 error, never including credentials."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = str(error.get("Code", "")) or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        message = str(error.get("Message", "")).strip()
        return f"{code}: {message}" if message else code or type(exc).__name__
    return " ".join(str(exc).split()) or type(exc).__name__


class S3Store:
    """Objects in an S3 bucket, under an optional key prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", *, page_size: int = 1000) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.page_size = page_size

    @classmethod
    def from_uri(cls, uri: str, settings: Any) -> S3Store:
        """s3://bucket[/prefix], with the AWS_ENDPOINT_URL, AWS_REGION_NAME, ARCHIVE_S3_* settings;
        the client's connection pool is sized to CONCURRENT_ITEMS (the archive's threads)."""
        parts = urlsplit(uri)
        if not parts.netloc:
            raise ValueError(f"S3 URI needs a bucket: s3://BUCKET[/PREFIX], not {uri!r}")
        client = make_s3_client(
            endpoint_url=settings.get("AWS_ENDPOINT_URL") or None,
            region=settings.get("AWS_REGION_NAME") or None,
            addressing_style=settings.get("ARCHIVE_S3_ADDRESSING_STYLE"),
            max_attempts=settings.getint("ARCHIVE_S3_MAX_ATTEMPTS"),
            max_pool_connections=settings.getint("CONCURRENT_ITEMS"),
        )
        return cls(client, parts.netloc, unquote(parts.path))

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _error(self, action: str, key: str | None, exc: Exception) -> StoreError:
        where = self.location(key) if key is not None else f"s3://{self.bucket}"
        return StoreError(f"cannot {action} {where}: {_describe(exc)}")

    def put(self, key: str, data: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data,
                ContentType=content_type, Metadata=dict(metadata),
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error("write", key, exc) from exc

    def put_if_absent(self, key: str, data: bytes, *, content_type: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type,
                                   IfNoneMatch="*")
            return True
        except ClientError as exc:
            cause = _describe(exc)
            if cause.startswith(("PreconditionFailed", "412", "ConditionalRequestConflict", "409")):
                return False
            if cause.startswith(("NotImplemented", "501")):
                raise StoreError(f"cannot create {self.location(key)}: this S3 server does not support "
                                 "conditional writes (If-None-Match: *)") from exc
            raise self._error("write", key, exc) from exc
        except BotoCoreError as exc:
            raise self._error("write", key, exc) from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error("delete", key, exc) from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return bytes(response["Body"].read())
        except ClientError as exc:
            if _describe(exc).startswith(("NoSuchKey", "404")):
                raise ObjectNotFound(f"{self.location(key)}: no such object") from exc
            raise self._error("read", key, exc) from exc
        except BotoCoreError as exc:
            raise self._error("read", key, exc) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if _describe(exc).startswith(("404", "NoSuchKey", "NotFound")):
                return False
            raise self._error("look up", key, exc) from exc
        except BotoCoreError as exc:
            raise self._error("look up", key, exc) from exc

    def list(self, prefix: str) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(f"{self.prefix}/") if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=full, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    yield str(entry["Key"])[strip:]
        except (BotoCoreError, ClientError) as exc:
            raise self._error("list", prefix, exc) from exc

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError as exc:
            raise StoreError(
                f"cannot reach s3://{self.bucket}: no AWS credentials found "
                "(set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role)"
            ) from exc
        except ClientError as exc:
            cause = _describe(exc)
            if cause.startswith(("404", "NoSuchBucket", "NotFound")):
                cause = "bucket does not exist"
            elif cause.startswith(("403", "AccessDenied", "Forbidden")):
                cause = "access denied (check credentials and bucket policy)"
            raise StoreError(f"cannot reach s3://{self.bucket}: {cause}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"cannot reach s3://{self.bucket}: {_describe(exc)}") from exc
