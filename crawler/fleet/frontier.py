"""A fleet of crawl processes sharing one frontier in Redis (scrapy-redis), for one job.

    newsarchive crawl --sites sites.toml --redis redis://host:6379/0     # on each machine

Every process of a job shares, in Redis (all keys under `newsarchive:{job}:`):
  requests             the frontier: scrapy-redis's request queue (a FIFO list), kept across
                       runs, so URLs pushed by `newsarchive archive --redis` wait for a run;
  run                  the current run's id: the first process sets it (SET NX) and pushes the
                       seeds (robots.txt, feeds, sitemaps, start pages); later ones join;
  run:{id}:seen        the run's duplicate filter (scrapy-redis RFPDupeFilter, a set of request
                       fingerprints), with an expiry and deleted when the run drains: the next
                       run starts empty, so articles due for a recheck are decided afresh
                       (crawler.planning.decisions) rather than filtered out;
  worker:{id}          each process's heartbeat (expires FLEET_WORKER_TTL after the last beat);
  leases:{id}          requests a process has popped and not finished: a process that dies
                       leaves them there, and the others put them back in the queue once its
                       heartbeat has expired, so its share is not lost.
and, across jobs, `newsarchive:throttle:{host}`: the next time any process may send a request
to that host (FLEET_DOMAIN_DELAY apart), so politeness holds for the fleet, not per process.

A process leaves when the run has drained: the queue is empty and no live process holds a
lease. The one that sees it first ends the run (deletes `run` and the duplicate filter).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

PREFIX = "newsarchive"
THROTTLE_PREFIX = f"{PREFIX}:throttle:"
LEASE = "fleet_lease"  # request.meta key: the lease token of a request popped from the queue
STARTUP_TTL = 60  # seconds a process counts as alive between joining and its first heartbeat
DEFAULT_RUN_TTL = 600  # seconds a run survives without any heartbeat (every process died)

# RPOP a request and record it as leased by this worker, atomically.
_POP_LEASE = """
local data = redis.call('RPOP', KEYS[1])
if data then redis.call('HSET', KEYS[2], ARGV[1], data) end
return data
"""

# Put a dead worker's leases back at the head of the queue (popped next); return how many.
# (An empty lease is the "seeding" marker of a worker that died while pushing the seeds.)
_REQUEUE = """
local items = redis.call('HVALS', KEYS[2])
local moved = 0
for _, data in ipairs(items) do
  if data ~= '' then redis.call('RPUSH', KEYS[1], data); moved = moved + 1 end
end
redis.call('DEL', KEYS[2])
return moved
"""

# The run ends once: delete its id and duplicate filter if it is still the current run.
_END_RUN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

# Reserve the next send time for a host: returns how many ms to wait before sending.
_THROTTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], at + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + 60000)
return at - now
"""


_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = math.max(now + tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], at, 'PX', at - now + 60000)
return at - now
"""


class FleetError(Exception):
    """Redis is unreachable or refused a command: one line, for people."""


def connect(url: str) -> Any:
    """A Redis client for `url` (redis://, rediss:// or unix://), checked with a PING."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, retry_on_timeout=True)
        client.ping()
    except ValueError as exc:
        raise FleetError(f"bad Redis URL {url!r}: {exc}") from None
    except redis.RedisError as exc:
        raise FleetError(f"cannot reach Redis at {redact(url)}: {exc}") from None
    return client


def redact(url: str) -> str:
    """The URL without a password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def job_key(job: str, *rest: str) -> str:
    # scrapy-redis formats queue keys with `%`: a literal % in a job name must be doubled there
    return ":".join((PREFIX, job, *rest))


def queue_key(job: str) -> str:
    return job_key(job, "requests").replace("%", "%%")


def seen_key(job: str, run_id: str) -> str:
    return job_key(job, "run", run_id, "seen").replace("%", "%%")


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class FleetRun:
    """This process's membership in a job's current run."""

    client: Any
    job: str
    run_id: str
    worker: str
    started: bool  # this process started the run (and so pushes the seeds)
    worker_ttl: int = 30

    # --- keys ------------------------------------------------------------------------------

    @property
    def run_key(self) -> str:
        return job_key(self.job, "run")

    @property
    def queue(self) -> str:
        return job_key(self.job, "requests")

    @property
    def seen(self) -> str:
        return job_key(self.job, "run", self.run_id, "seen")

    def lease_key(self, worker: str | None = None) -> str:
        return job_key(self.job, "leases", worker or self.worker)

    def worker_key(self, worker: str | None = None) -> str:
        return job_key(self.job, "worker", worker or self.worker)

    # --- membership ------------------------------------------------------------------------

    @classmethod
    def join(cls, client: Any, job: str, run_id: str, *, worker_ttl: int = 30, run_ttl: int = DEFAULT_RUN_TTL,
             worker: str | None = None) -> FleetRun:
        """Join the job's current run, or start one with `run_id` if none is running."""
        worker = worker or new_worker_id()
        # alive while Scrapy starts up (its heartbeats begin when the spider opens)
        client.set(job_key(job, "worker", worker), "starting", ex=max(worker_ttl, STARTUP_TTL))
        started = bool(client.set(job_key(job, "run"), run_id, nx=True, ex=run_ttl))
        if started:  # hold a lease while seeding, so nobody sees an empty, idle fleet meanwhile
            client.hset(job_key(job, "leases", worker), "seeding", b"")
        else:
            current = client.get(job_key(job, "run"))
            if current is None:  # it ended in between: start the next one
                return cls.join(client, job, run_id, worker_ttl=worker_ttl, run_ttl=run_ttl, worker=worker)
            if not _live_workers(client, job, exclude=worker):
                # every process of that run died (their heartbeats expired): end it, so this
                # scheduled start is a fresh run with its seeds, not a join to nobody
                logger.warning("Run %s of %s has no live process left: ending it", current.decode(), job)
                client.eval(_END_RUN, 2, job_key(job, "run"), job_key(job, "run", current.decode(), "seen"), current)
                return cls.join(client, job, run_id, worker_ttl=worker_ttl, run_ttl=run_ttl, worker=worker)
            run_id = current.decode()
        return cls(client, job, run_id, worker, started, worker_ttl)

    def beat(self, run_ttl: int = DEFAULT_RUN_TTL) -> None:
        """Heartbeat: this worker is alive, and so is the run."""
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.worker_key(), "alive", ex=self.worker_ttl)
        pipe.expire(self.run_key, run_ttl)
        pipe.execute()

    def seeded(self) -> None:
        self.client.hdel(self.lease_key(), "seeding")

    # --- leases ----------------------------------------------------------------------------

    def pop(self) -> tuple[str, bytes] | None:
        """The next request from the queue, leased to this worker: (lease token, data)."""
        token = uuid.uuid4().hex
        data = self.client.eval(_POP_LEASE, 2, self.queue, self.lease_key(), token)
        return None if data is None else (token, data)

    def done(self, token: str) -> None:
        self.client.hdel(self.lease_key(), token)

    def release_all(self) -> None:
        """Nothing is in flight here any more (the engine is idle): drop this worker's leases."""
        self.client.delete(self.lease_key())

    def _other_leases(self) -> Iterator[tuple[str, Any]]:
        """(worker, lease key) of every other worker holding leases, dead or alive."""
        for key in self.client.scan_iter(match=job_key(self.job, "leases", "*").replace("[", "\\["), count=100):
            worker = key.decode().rsplit(":", 1)[1]
            if worker != self.worker:
                yield worker, key

    def requeue_dead(self) -> int:
        """Put back the leases of workers whose heartbeat expired; return how many requests."""
        count = 0
        for worker, key in self._other_leases():
            if not self.client.exists(self.worker_key(worker)):
                moved = int(self.client.eval(_REQUEUE, 2, self.queue, key))
                if moved:
                    logger.warning("Worker %s is gone: %d of its requests put back in the queue", worker, moved)
                count += moved
        return count

    def others_busy(self) -> bool:
        """Does a live worker other than this one hold leases (work in flight)?"""
        return any(self.client.hlen(key) and self.client.exists(self.worker_key(worker))
                   for worker, key in self._other_leases())

    def queued(self) -> int:
        return int(self.client.llen(self.queue))

    def drained(self) -> bool:
        """The run is over for everyone: nothing queued, nothing in flight anywhere. Called
        when this worker's engine is idle (so its own leases are finished)."""
        self.release_all()
        if self.queued():
            return False
        if self.requeue_dead():
            return False
        return not self.others_busy() and not self.queued()

    def end(self) -> bool:
        """End the run (once, whoever calls first): the next process starts a new one."""
        return bool(self.client.eval(_END_RUN, 2, self.run_key, self.seen, self.run_id))

    def leave(self) -> int:
        """Leave the fleet. Requests still leased here (a run stopped early by --max-minutes,
        --max-items or SIGTERM) go back to the queue for the others; return how many."""
        moved = int(self.client.eval(_REQUEUE, 2, self.queue, self.lease_key()))
        self.client.delete(self.worker_key())
        return moved


def _live_workers(client: Any, job: str, exclude: str) -> list[str]:
    keys = client.scan_iter(match=job_key(job, "worker", "*").replace("[", "\\["), count=100)
    return [w for w in (k.decode().rsplit(":", 1)[1] for k in keys) if w != exclude]


def throttle_wait(client: Any, host: str, delay: float) -> float:
    """Reserve the next slot for `host`, `delay` seconds after the last one any process took;
    return how many seconds to wait before sending."""
    return int(client.eval(_THROTTLE, 1, THROTTLE_PREFIX + host, int(delay * 1000))) / 1000


def pause_host(client: Any, host: str, seconds: float) -> float:
    """No process of the fleet sends to `host` for `seconds` (the host asked, with Retry-After):
    its next free time moves that far ahead, never back; return the seconds until it."""
    return int(client.eval(_PAUSE, 1, THROTTLE_PREFIX + host, int(seconds * 1000))) / 1000


def push_urls(client: Any, job: str, encoded: list[bytes]) -> int:
    """Queue encoded requests for the job's fleet; return the queue's length."""
    key = job_key(job, "requests")
    return int(client.lpush(key, *encoded)) if encoded else int(client.llen(key))


def fleet_status(client: Any, job: str) -> dict[str, Any]:
    """What a person monitoring the fleet wants at a glance."""
    run = client.get(job_key(job, "run"))
    workers = [k.decode().rsplit(":", 1)[1] for k in client.scan_iter(match=job_key(job, "worker", "*"), count=100)]
    seen = client.scard(job_key(job, "run", run.decode(), "seen")) if run else 0
    return {"job": job, "run_id": run.decode() if run else None, "queued": int(client.llen(job_key(job, "requests"))),
            "workers": sorted(workers), "seen": int(seen), "time": time.time()}


def acknowledge(spider: Any, message: Any) -> None:
    """The request behind `message` (a Request, or the Response to one) is done: release its
    lease, if `spider` is a fleet member and the request came from the fleet's queue."""
    fleet = getattr(spider, "fleet", None)
    token = message.meta.get(LEASE) if message is not None else None
    if isinstance(fleet, FleetRun) and token:
        fleet.done(token)
