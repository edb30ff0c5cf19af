"""Where captures are kept: one Store interface, a local folder and S3-compatible backends.

This module lives in crawler/ rather than pipelines/ (as CONVENTIONS.md sketches)
because the CLI's `show` reads the store too, and crawler/ must never import
pipelines/. It is I/O at the edge: nothing in the pure core imports it.

* open_store(uri) picks the backend from the URI scheme ("" / file -> local, s3 -> S3).
* LocalDirStore writes to a temporary name, then renames, so no reader ever sees a
  half-written file.
* S3Store takes a ready boto3 client; only make_s3_client() builds one, with boto3's
  standard credential chain (env, shared config/profile, instance or container role).
* Every backend error becomes a StoreError naming the object and the cause, in one line.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"


class StoreError(Exception):
    """A store operation failed; the message names the object or bucket and the cause."""


class ObjectNotFound(StoreError):
    pass


class Store(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None: ...

    def put_if_absent(self, key: str, data: bytes, *, content_type: str) -> bool:
        """Create `key` only if it does not exist yet (atomically); False if it existed."""
        ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Remove `key`; no error if it is already gone."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix` (a folder-like prefix ending in "/" or ""), any order."""
        ...

    def check(self) -> None:
        """Raise StoreError unless the store can be reached and written to (cheap)."""
        ...

    def location(self, key: str) -> str:
        """Where `key` is, for people: a path or an s3:// URI."""
        ...


def _check_key(key: str) -> list[str]:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
        raise StoreError(f"refusing unsafe key {key!r}")
    return parts


class LocalDirStore:
    """Objects as files under `root`; keys are relative POSIX paths."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        parts = [p for p in _check_key(key) if p]
        return self.root.joinpath(*parts)

    @staticmethod
    def _write_temp(path: Path, data: bytes) -> str:
        """Write `data` to a fresh temporary file beside `path`, flushed to disk; return its name."""
        try:  # a capture's folder exists for all but its first file: create it only when missing
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:  # disk full, interrupted: leave no partial temp file behind
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return tmp_name

    def put(self, key: str, data: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        path = self._path(key)
        tmp_name = None
        try:
            tmp_name = self._write_temp(path, data)
            os.replace(tmp_name, path)  # readers see the old file or the new one, never half of it
            tmp_name = None
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            if tmp_name is not None:
                Path(tmp_name).unlink(missing_ok=True)

    def put_if_absent(self, key: str, data: bytes, *, content_type: str) -> bool:
        path = self._path(key)
        tmp_name = None
        try:
            tmp_name = self._write_temp(path, data)
            os.link(tmp_name, path)  # fails if `path` exists: create-if-absent, complete or not at all
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            if tmp_name is not None:
                Path(tmp_name).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot delete {path}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{path}: no such object") from exc
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix.strip("/") else self.root
        if not base.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in filenames:
                if not name.startswith(TEMP_PREFIX):
                    yield (Path(dirpath) / name).relative_to(self.root).as_posix()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create archive folder {self.root}: {exc.strerror or exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"archive folder {self.root} is not writable")

    def location(self, key: str) -> str:
        return str(self._path(key)) + ("/" if key.endswith("/") else "")


def make_s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    addressing_style: str = "auto",
    max_pool_connections: int = 16,
    max_attempts: int = 4,
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

    def _key(self, key: str) -> str:
        _check_key(key)
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


SUPPORTED_SCHEMES = ("", "file", "s3")


def open_store(
    uri: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    addressing_style: str = "auto",
    max_attempts: int = 4,
    connections: int = 16,
) -> Store:
    """The store a URI names: a local path, file:///path, or s3://bucket[/prefix]."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "":
        return LocalDirStore(Path(uri).expanduser())
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URI must name a local path, not host {parts.netloc!r}: {uri}")
        return LocalDirStore(Path(unquote(parts.path)).expanduser())
    if scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"S3 URI needs a bucket: s3://BUCKET[/PREFIX], not {uri!r}")
        client = make_s3_client(endpoint_url=endpoint_url, region=region, addressing_style=addressing_style,
                                max_attempts=max_attempts, max_pool_connections=connections)
        return S3Store(client, parts.netloc, unquote(parts.path))
    supported = ", ".join(f"{s}://" for s in SUPPORTED_SCHEMES if s) + " or a local path"
    raise ValueError(f"unsupported store URI {uri!r}: use {supported}")


def store_from_settings(settings: Any, connections: int = 16) -> Store:
    """The store named by the ARCHIVE_URI, AWS_ENDPOINT_URL, AWS_REGION_NAME and
    ARCHIVE_S3_ADDRESSING_STYLE settings (a Scrapy Settings or any mapping with .get);
    `connections` sizes an S3 client's connection pool (the number of threads using it)."""
    return open_store(
        settings.get("ARCHIVE_URI") or "archive",
        endpoint_url=settings.get("AWS_ENDPOINT_URL") or None,
        region=settings.get("AWS_REGION_NAME") or None,
        addressing_style=settings.get("ARCHIVE_S3_ADDRESSING_STYLE") or "auto",
        max_attempts=int(settings.get("ARCHIVE_S3_MAX_ATTEMPTS") or 4),
        connections=connections,
    )
