"""A tiny HTTP client for scrapyd's JSON API over its unix socket (no port to guess)."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 30) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def call(socket_path: str, endpoint: str, fields: list[tuple[str, str]] | None = None,
         files: dict[str, bytes] | None = None) -> dict[str, Any]:
    """GET (no fields) or multipart POST to /endpoint; returns the JSON answer."""
    connection = UnixHTTPConnection(socket_path)
    try:
        if fields is None and files is None:
            connection.request("GET", f"/{endpoint}")
        else:
            boundary = uuid.uuid4().hex
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in fields or []]
            parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{k}.egg"\r\n'
                      f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
                      for k, data in (files or {}).items()]
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            connection.request("POST", f"/{endpoint}", body=body,
                               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer: dict[str, Any] = json.loads(connection.getresponse().read())
        return answer
    finally:
        connection.close()
