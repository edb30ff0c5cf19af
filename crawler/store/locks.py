"""One run of a job at a time, across processes and machines that share a store.

The lock is an object created with a conditional write (If-None-Match: * on S3, an atomic
link on a local folder), so of two runs starting together exactly one wins. It records who
holds it and until when. It is taken over when it is past its expiry (its holder died
somewhere), or at once when its holder was a process on this machine that no longer exists
(killed with SIGKILL, out of memory).
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crawler.store.base import ObjectNotFound, Store

_JOB = re.compile(r"[^A-Za-z0-9_.-]+")


class LockHeld(Exception):
    """Another run holds the job's lock; the message says who, since when and where."""


@dataclass(frozen=True, slots=True)
class JobLock:
    store: Store
    key: str
    run_id: str

    def release(self) -> None:
        """Remove the lock if it is still ours."""
        try:
            held = json.loads(self.store.get(self.key))
        except (ObjectNotFound, ValueError):
            return
        if held.get("run_id") == self.run_id:
            self.store.delete(self.key)


def _holder_is_dead(held: dict[str, object]) -> bool:
    """The lock was taken on this machine by a process that no longer exists (killed, crashed)."""
    pid = held.get("pid")
    if held.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def lock_key(job: str) -> str:
    return f"locks/{_JOB.sub('_', job).strip('._') or 'job'}.json"


def acquire(store: Store, job: str, run_id: str, ttl: timedelta, now: datetime | None = None) -> JobLock:
    """Take the job's lock or raise LockHeld."""
    now = now or datetime.now(UTC)
    key = lock_key(job)
    body = json.dumps({
        "job": job, "run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(),
        "started_at": now.isoformat(), "expires_at": (now + ttl).isoformat(),
    }).encode("utf-8")
    for _ in range(2):
        if store.put_if_absent(key, body, content_type="application/json"):
            return JobLock(store, key, run_id)
        try:
            held = json.loads(store.get(key))
        except ObjectNotFound:
            continue  # released between our two calls: try again
        except ValueError:
            held = {}
        expires = held.get("expires_at")
        if (expires and datetime.fromisoformat(expires) < now) or _holder_is_dead(held):
            store.delete(key)  # its holder died: take over (a racing taker loses the create above)
            continue
        raise LockHeld(f"job {job!r} is already running (run {held.get('run_id', '?')} on "
                       f"{held.get('host', '?')}, pid {held.get('pid', '?')}, since {held.get('started_at', '?')}); "
                       f"lock {store.location(key)}")
    raise LockHeld(f"job {job!r}: could not take the lock {store.location(key)}")
