"""The Redis Streams store (``redis://host:6379/0``): competing workers on one Redis server.

Every worker process of an application points at the same Redis and shares the work of each bus
through a Redis consumer group (``acks = True``): each record goes to one worker, is settled by
``XACK``, and one not acknowledged within ``ack_timeout`` seconds is taken over by another
worker with its true delivery count. Needs Redis 7.0 or later (standalone, or a primary with
replicas; not Redis Cluster: the scripts touch keys they compute).

The keys, under ``prefix`` (``eb``):

- ``{prefix}:bus:{bus}``: a stream per bus, field ``e`` = the event's bytes, field ``t`` = when
  it was appended (the server's ``TIME``, ``seconds.micros``; entries written before it was
  recorded have no ``t`` and read ``appended=None``). Entries are added
  with the IDs ``0-*``, so the stream's IDs are ``0-1, 0-2, …`` and the sequence part is the
  offset (``Position(0, seq)``): dense, increasing, and mapped back without a lookup. A batch is
  added by one script call, so it sits contiguously in the bus.
- ``{prefix}:keeps:{bus}``: a sorted set of the offsets delay-queue entries keep in the bus
  (member: the entry's id, score: the offset).
- ``{prefix}:dq:ids``: the counter of delay-queue entry ids; per group ``{prefix}:dq:{group}:``
  ``e:{id}`` (a hash per entry: key, due, body, weight, claims, kept bus), ``q:{key}`` (a sorted
  set per key scored by when the entry may be claimed: its due time, or its lease's end while
  claimed) and ``sizes`` (a hash: key → sum of the weights of its entries).

Reading: the consumer group is the application's group, created at ``0`` on first read so that
events published before any worker ran are delivered. Each store object is one consumer, named
``{host}/{pid}/{random}``. ``fetch`` first takes over what lapsed, then long-polls with
``XREADGROUP … BLOCK`` on a connection of its own (a cancelled or broken blocking read closes
that connection; it never leaves a half-read reply on a shared one). Taking over runs on the
first fetch and then every quarter of ``ack_timeout`` (2 s at most): entries pending longer than
``ack_timeout`` are claimed, and so are at once the entries of consumers of this host whose
process is gone (a restart after a kill resumes without waiting). A take-over is one script,
``XPENDING`` then ``XCLAIM``, rather than ``XAUTOCLAIM``, whose reply lacks the delivery counts:
the records carry their true count. Entries that vanished from the stream while pending (trimmed,
or deleted by hand) are dropped from the pending list and logged. Consumers with nothing pending
that are gone or long idle are deleted (checked in a script: deleting a consumer drops what it
holds). After ``rewind`` (the listener forgot what it held), the consumer's own pending entries
are handed out again at once; after a blocking read was cancelled or lost its connection, those
above the last entry it was handed (the reply that may have been lost). ``close`` marks what the
consumer holds as long idle, so the other workers take it over at their next take-over.

Pruning: the streams are never capped with ``MAXLEN`` (that drops entries nobody read). At most
every ``prune_interval`` seconds after acknowledgements, a script trims each bus below the
lowest of what every group still needs (its lowest pending entry, or the entry after the last
one it was handed) and of what delay-queue entries keep. A bus no group reads is never trimmed.
A bus with a :class:`~eventbridge_sdk.Retention` (kept in Redis at ``{prefix}:retention:{bus}``,
so that every process prunes alike) is trimmed (``XTRIM MINID``) only below the first entry
that is still within both of its limits as well: ``max_events`` counts back from the newest
entry, ``max_age`` is measured by the server's clock against each entry's ``t``.

Bound: ``maxlen`` is a soft bound per bus. ``append`` (``block=True``) waits while the bus holds
``maxlen`` entries and some group reads it, pruning when it can; when no group reads it (a
publisher ran before any worker), it raises :class:`StoreError` instead of waiting forever. A
batch that starts below the bound is accepted whole. ``block=False`` never waits.

Connections: a pool for commands and scripts (retried with exponential backoff on connection
loss and timeouts, so a dropped connection or a short restart is survived; a retried write may
duplicate, which at-least-once delivery allows), and a pool for blocking reads whose socket
timeout exceeds the longest ``BLOCK``. Every connection is named ``eventbridge:{consumer}``
(``CLIENT LIST`` shows who is who).

URL options: ``prefix`` (``eb``), ``ack_timeout`` (seconds, 30), ``maxlen`` (1,000,000),
``prune_interval`` (seconds, 1; 0 prunes after each acknowledgement).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .._errors import ConfigurationError, StoreClosedError, StoreError
from .._retention import Retention
from ._leases import alive
from ._urls import redacted, seconds, whole
from .base import BusStats, Claimed, Delayed, DelayStats, Position, Record

__all__ = ["RedisStore"]

logger = logging.getLogger("eventbridge_sdk")

T = TypeVar("T")

DEFAULT_PREFIX = "eb"
DEFAULT_ACK_TIMEOUT = 30.0
DEFAULT_MAXLEN = 1_000_000
DEFAULT_PRUNE_INTERVAL = 1.0
CONNECT_TIMEOUT = 3.0
COMMAND_TIMEOUT = 10.0
MAX_BLOCK = 5.0
"""The longest ``BLOCK`` of one read; longer fetches loop (the socket timeout stays above it)."""
MAX_SWEEP_INTERVAL = 2.0
"""Seconds between take-overs at most: a dead local process or a closed store is noticed soon."""
CLAIMANTS_INTERVAL = 5.0
"""Seconds between looks, per group, for delay-queue claims of local processes that are gone."""
APPEND_CHUNK = 1000
"""Events added by one script call: a script holds the server while it runs."""
TAKE_CHUNK = 1000
RELEASED_IDLE_MS = 10**11
"""Idle time given to the entries a closing store releases: older than any ack timeout."""
_NEW = tuple.__new__


def _appended(fields: list[bytes]) -> float | None:
    """The append time of a stream entry's fields (``e``, body, ``t``, time), if it has one."""
    return float(fields[3]) if len(fields) > 3 else None


def _time(raw: bytes | None) -> float | None:
    return None if raw is None else float(raw)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -- scripts -------------------------------------------------------------------------------
# Lua sees numbers as doubles: offsets and ids stay exact up to 2**53.

_APPEND = """
local bound = tonumber(ARGV[1])
if bound > 0 and redis.call('XLEN', KEYS[1]) >= bound then
  local over = true
  local retention = redis.call('GET', KEYS[2])
  if retention then
    local count = string.match(retention, ' (%S+)$')
    over = count ~= '-' and redis.call('XLEN', KEYS[1]) >= bound + tonumber(count)
  end
  if over then
    if #redis.call('XINFO', 'GROUPS', KEYS[1]) > 0 then return -1 end
    return -2
  end
end
local id
local now = redis.call('TIME')
local t = now[1] .. '.' .. string.format('%06d', tonumber(now[2]))
for i = 2, #ARGV do
  id = redis.call('XADD', KEYS[1], '0-*', 'e', ARGV[i], 't', t)
end
return tonumber(string.sub(id, 3))
"""
"""KEYS: the bus, its retention. ARGV: the bound (0: none), the bodies. Returns the last offset
added, -1 when the bus is full and a group reads it, -2 when it is full and no group reads it.
On a bus with a retention the archive does not count: the bound grows by ``max_events``, and
without ``max_events`` there is none."""

_PRUNE = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', key)
if #groups == 0 then return 0 end
local floor
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local from
  if f['pending'] > 0 then
    from = tonumber(string.match(redis.call('XPENDING', key, f['name'])[2], '^0%-(%d+)$'))
  else
    local last = string.match(f['last-delivered-id'], '^0%-(%d+)$')
    from = last and tonumber(last) + 1
  end
  if not from then return 0 end
  if not floor or from < floor then floor = from end
end
local kept = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #kept > 0 and tonumber(kept[2]) < floor then floor = tonumber(kept[2]) end
local retention = redis.call('GET', KEYS[3])
if retention then
  local age, count = string.match(retention, '^(%S+) (%S+)$')
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then return 0 end
  local top = tonumber(string.sub(last[1][1], 3))
  local limit = 0
  if count ~= '-' then limit = top - tonumber(count) + 1 end
  if age ~= '-' then
    local now = redis.call('TIME')
    local cutoff = tonumber(now[1]) + tonumber(now[2]) / 1000000 - tonumber(age)
    local low, high, best = 1, top + 1, top + 1
    while low < high do
      local mid = math.floor((low + high) / 2)
      local e = redis.call('XRANGE', key, '0-' .. string.format('%d', mid), '+', 'COUNT', 1)
      local seq = e[1] and tonumber(string.sub(e[1][1], 3))
      if not seq or seq >= high then
        high = mid
      else
        local t = e[1][2][4]
        if not t or tonumber(t) < cutoff then
          low = seq + 1
        else
          best, high = seq, mid
        end
      end
    end
    if best > limit then limit = best end
  end
  if limit < floor then floor = limit end
end
if floor < 1 then return 0 end
return redis.call('XTRIM', key, 'MINID', '0-' .. string.format('%d', floor))
"""
"""KEYS: the bus, its keeps, its retention. Trims what every group is done with and no entry
keeps; on a bus with a retention (``"<max age s or -> <max events or ->"``), only what is also
past one of its limits (the first entry young enough is found by bisecting the IDs)."""

_TAKE = """
local key, group, me, idle = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local pending
if ARGV[6] == '' then
  pending = redis.call('XPENDING', key, group, 'IDLE', idle, ARGV[4], '+', ARGV[5])
else
  pending = redis.call('XPENDING', key, group, 'IDLE', idle, ARGV[4], '+', ARGV[5], ARGV[6])
end
if #pending == 0 then return {{}, {}, '', 0} end
local ids, counts = {}, {}
for i, p in ipairs(pending) do
  ids[i] = p[1]
  counts[p[1]] = p[4]
end
local out, claimed = {}, {}
for _, entry in ipairs(redis.call('XCLAIM', key, group, me, idle, unpack(ids))) do
  local id = entry[1]
  claimed[id] = true
  out[#out + 1] = id
  out[#out + 1] = entry[2][2]
  out[#out + 1] = counts[id] + 1
  out[#out + 1] = entry[2][4] or false
end
local gone = {}
for _, id in ipairs(ids) do
  if not claimed[id] and #redis.call('XRANGE', key, id, id) == 0 then
    redis.call('XACK', key, group, id)
    gone[#gone + 1] = id
  end
end
return {out, gone, ids[#ids], #ids}
"""
"""KEYS: the bus. ARGV: group, taker, min idle ms, start id, count, owner ('' = anyone).
Claims pending entries idle that long (of that owner) for the taker. Returns the entries as
``{id, body, deliveries, appended or nil, …}``, the ids gone from the stream, the last id
scanned, how many."""

_EXTEND = """
local key, group, me = KEYS[1], ARGV[1], ARGV[2]
local mine = {}
for _, p in ipairs(redis.call('XPENDING', key, group, ARGV[3], ARGV[4], 100000000, me)) do
  mine[p[1]] = true
end
local batch, n = {}, 0
for i = 5, #ARGV + 1 do
  local id = ARGV[i]
  if id and mine[id] then batch[#batch + 1] = id end
  if #batch > 0 and (#batch == 1000 or not id) then
    n = n + #batch
    batch[#batch + 1] = 'JUSTID'
    redis.call('XCLAIM', key, group, me, 0, unpack(batch))
    batch = {}
  end
end
return n
"""
"""KEYS: the bus. ARGV: group, consumer, first id, last id, ids (ascending). Resets the idle
time of those entries still pending for the consumer (no delivery counted)."""

_RELEASE = """
local key, group, me = KEYS[1], ARGV[1], ARGV[2]
local start, gone = '-', {}
while true do
  local pending = redis.call('XPENDING', key, group, start, '+', 1000, me)
  if #pending == 0 then return gone end
  local batch = {}
  for i, p in ipairs(pending) do batch[i] = p[1] end
  start = '(' .. batch[#batch]
  local n = #batch
  batch[n + 1] = 'IDLE'
  batch[n + 2] = ARGV[3]
  batch[n + 3] = 'JUSTID'
  local kept = {}
  for _, id in ipairs(redis.call('XCLAIM', key, group, me, 0, unpack(batch))) do kept[id] = true end
  for i = 1, n do
    if not kept[batch[i]] then gone[#gone + 1] = batch[i] end
  end
  if #pending < 1000 then return gone end
end
"""
"""KEYS: the bus. ARGV: group, consumer, idle ms. Makes the consumer's pending entries look
idle for that long, so that any worker's next take-over claims them. Returns the ids of those
gone from the stream (XCLAIM dropped them from the pending list)."""

_REAP = """
local n = 0
for i = 2, #ARGV do
  if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[i]) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[i])
    n = n + 1
  end
end
return n
"""
"""KEYS: the bus. ARGV: group, consumers. Deletes those of them with nothing pending (checked
in the script: deleting a consumer drops its pending entries)."""

_STATS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0-0', 0, 0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, length
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'length' then length = info[i + 1] end
end
if ARGV[1] ~= '' then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f['name'] == ARGV[1] then
      return {last, length, 1, f['pending'], f['lag'] or -1, f['last-delivered-id']}
    end
  end
end
return {last, length, 0}
"""
"""KEYS: the bus. ARGV: a group or ''. Returns the last id, the length, and whether the group
exists with its pending count, lag (-1: unknown) and last delivered id."""

_SCHEDULE = """
local base, keeps = ARGV[1], ARGV[2]
local n = (#ARGV - 2) / 6
local id = redis.call('INCRBY', KEYS[1], n) - n
for a = 3, #ARGV, 6 do
  id = id + 1
  local member = string.format('%015d', id)
  local entry = base .. 'e:' .. member
  local key, due, weight, bus = ARGV[a], ARGV[a + 1], ARGV[a + 3], ARGV[a + 4]
  redis.call('HSET', entry, 'k', key, 'd', due, 'b', ARGV[a + 2], 'w', weight, 'c', 0)
  if bus ~= '' then
    redis.call('HSET', entry, 'kb', bus)
    redis.call('ZADD', keeps .. bus, ARGV[a + 5], member)
  end
  redis.call('ZADD', base .. 'q:' .. key, due, member)
  redis.call('HINCRBY', KEYS[2], key, weight)
end
return n
"""
"""KEYS: the id counter, the group's sizes. ARGV: the group's base, the keeps' base, then per
entry: key, due, body, weight, kept bus ('' for none), kept offset."""

_CLAIM = """
local base, key, limit = ARGV[1], ARGV[2], tonumber(ARGV[4])
local queue = base .. 'q:' .. key
local out, total = {}, 0
local due = redis.call('ZRANGE', queue, '-inf', ARGV[3], 'BYSCORE', 'LIMIT', 0, limit)
for _, member in ipairs(due) do
  if total >= limit then break end
  local entry = base .. 'e:' .. member
  local e = redis.call('HMGET', entry, 'd', 'b', 'w')
  if e[1] then
    redis.call('ZADD', queue, ARGV[5], member)
    redis.call('HSET', base .. 'owners', member, ARGV[6])
    out[#out + 1] = member
    out[#out + 1] = e[1]
    out[#out + 1] = e[2]
    out[#out + 1] = redis.call('HINCRBY', entry, 'c', 1)
    out[#out + 1] = e[3]
    total = total + tonumber(e[3])
  else
    redis.call('ZREM', queue, member)
  end
end
return out
"""
"""ARGV: the group's base, key, now, max count, lease end, the claiming consumer. Returns
``{id, due, body, claims, weight, …}`` of the entries due, earliest first, while their weights
add up to less than max count (one at least). The claimant is recorded in the group's
``owners`` hash, so that the claims of a process that died can be released."""

_FINISH = """
local base, keeps = ARGV[1], ARGV[2]
local buses = {}
for i = 3, #ARGV do
  local member = ARGV[i]
  local entry = base .. 'e:' .. member
  local e = redis.call('HMGET', entry, 'k', 'w', 'kb')
  redis.call('HDEL', base .. 'owners', member)
  if e[1] then
    redis.call('DEL', entry)
    local queue = base .. 'q:' .. e[1]
    redis.call('ZREM', queue, member)
    redis.call('HINCRBY', KEYS[1], e[1], -tonumber(e[2]))
    if redis.call('EXISTS', queue) == 0 then redis.call('HDEL', KEYS[1], e[1]) end
    if e[3] then
      redis.call('ZREM', keeps .. e[3], member)
      buses[#buses + 1] = e[3]
    end
  end
end
return buses
"""
"""KEYS: the group's sizes. ARGV: the group's base, the keeps' base, ids. Deletes the entries
and releases what they kept; returns the buses they kept events in."""

_RELEASE_CLAIMS = """
local base = ARGV[1]
local released = 0
for i = 3, #ARGV do
  local member = ARGV[i]
  if redis.call('HGET', base .. 'owners', member) == ARGV[2] then
    redis.call('HDEL', base .. 'owners', member)
    local e = redis.call('HMGET', base .. 'e:' .. member, 'k', 'd')
    if e[1] and redis.call('ZADD', base .. 'q:' .. e[1], 'XX', 'CH', e[2], member) == 1 then
      released = released + 1
    end
  end
end
return released
"""
"""ARGV: the group's base, a consumer that is gone, ids it claimed. Makes those claims end now
(each entry claimable again at its due time) unless another consumer claimed it since; returns
how many were released."""

_DELAYED = """
local sizes = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #sizes, 2 do
  local first = redis.call('ZRANGE', ARGV[1] .. 'q:' .. sizes[i], 0, 0, 'WITHSCORES')
  if #first > 0 then
    out[#out + 1] = sizes[i]
    out[#out + 1] = sizes[i + 1]
    out[#out + 1] = first[2]
  end
end
return out
"""
"""KEYS: the group's sizes. ARGV: the group's base. Returns ``{key, size, next, …}``."""


# -- the URL -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Options:
    connection: dict[str, Any]
    prefix: str
    ack_timeout: float
    maxlen: int
    prune_interval: float


def _parse_url(url: str) -> _Options:
    shown = redacted(url)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigurationError(f"store URL {shown!r} is not a redis:// or rediss:// URL")
    try:
        port = parts.port or 6379
    except ValueError:
        raise ConfigurationError(f"store URL {shown!r}: the port is not a number") from None
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigurationError(
            f"store URL {shown!r}: the path names database {path!r}; use a database number, "
            "as in redis://localhost:6379/0"
        )
    connection: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port,
        "db": int(path or 0),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "ssl": parts.scheme == "rediss",
    }
    options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    prefix = options.pop("prefix", DEFAULT_PREFIX)
    if not prefix or any(c.isspace() for c in prefix):
        raise ConfigurationError(
            f"store URL {shown!r}: option prefix must be a non-empty name without spaces, "
            f"got {prefix!r}"
        )
    ack_timeout = seconds(shown, options, "ack_timeout", DEFAULT_ACK_TIMEOUT, zero=False)
    prune_interval = seconds(shown, options, "prune_interval", DEFAULT_PRUNE_INTERVAL, zero=True)
    maxlen = whole(shown, options, "maxlen", DEFAULT_MAXLEN, 1, 2**62)
    if options:
        raise ConfigurationError(
            f"store URL {shown!r}: unknown option(s) {sorted(options)}; known: prefix, "
            "ack_timeout, maxlen, prune_interval"
        )
    return _Options(connection, prefix, ack_timeout, maxlen, prune_interval)


# -- the store -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Reading:
    """What this store object knows about reading one bus for one group."""

    key: str
    group: str
    next_sweep: float = 0.0
    """When the next take-over of lapsed entries is due (monotonic)."""
    lapsed_left: bool = False
    """The last take-over filled its batch: more may be waiting."""
    dead: set[str] = field(default_factory=set)
    """Consumers of this host whose process is gone and that still hold pending entries."""
    reread: bool = False
    """Hand out this consumer's own pending entries again (after a rewind or a lost reply)."""
    reread_from: str = "-"
    handed: int = 0
    """The highest offset handed to this consumer: a lost reply held only higher ones."""


class RedisStore:
    """A :class:`~eventbridge_sdk.stores.base.Store` on Redis Streams, shared by competing
    workers through consumer groups.

    Example::

        store = RedisStore("redis://localhost:6379/0?ack_timeout=60")
    """

    acks = True

    def __init__(self, url: str) -> None:
        self.url = url
        self._shown = redacted(url)
        options = _parse_url(url)
        self._connection = options.connection
        self.prefix = options.prefix
        self.ack_timeout: float | None = options.ack_timeout
        self._ack_timeout_ms = max(1, int(options.ack_timeout * 1000))
        self._sweep_interval = min(options.ack_timeout / 4, MAX_SWEEP_INTERVAL)
        self._reap_idle_ms = max(60_000, 10 * self._ack_timeout_ms)
        self.maxlen = options.maxlen
        self.prune_interval = options.prune_interval
        self.consumer = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._claimants_checked: dict[str, float] = {}
        """This store object's consumer name in every group it reads."""
        self._client: Redis | None = None
        self._reader: Redis | None = None
        self._scripts: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._reads: dict[tuple[str, str], _Reading] = {}
        self._pruned_at: dict[str, float] = {}
        self._room: dict[str, asyncio.Event] = {}
        self._appending = 0
        self._appends_done: asyncio.Event | None = None
        self._closed = True

    # -- lifecycle -------------------------------------------------------------------------

    def _redis(self, *, socket_timeout: float, retry: Retry, role: str) -> Redis:
        return Redis(
            **self._connection,
            protocol=2,
            decode_responses=False,
            socket_timeout=socket_timeout,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_keepalive=True,
            retry=retry,
            client_name=f"eventbridge:{self.consumer}{role}",
        )

    async def open(self) -> None:
        if not self._closed:
            return
        probe = self._redis(socket_timeout=CONNECT_TIMEOUT, retry=Retry(NoBackoff(), 0), role="")
        try:
            info = await probe.info("server")
        except RedisError as exc:
            raise StoreError(
                f"cannot reach the Redis store at {self._shown!r} ({exc}); check that Redis "
                "runs there and that the URL's host, port, database and credentials are right"
            ) from exc
        finally:
            await probe.aclose()
        version = str(info.get("redis_version", "0"))
        if tuple(int(n) for n in version.split(".")[:2] if n.isdigit()) < (7, 0):
            raise StoreError(
                f"the Redis store at {self._shown!r} runs Redis {version}; the Redis Streams "
                "store needs Redis 7.0 or later"
            )
        # Commands are retried across connection loss; 8 tries with exponential backoff (up
        # to 1 s apart) span about 4 s, enough for a dropped connection or a failover.
        retry = Retry(
            ExponentialBackoff(cap=1.0, base=0.02),
            8,
            supported_errors=(RedisConnectionError, RedisTimeoutError),
        )
        client = self._redis(socket_timeout=COMMAND_TIMEOUT, retry=retry, role="")
        # Blocking reads are retried by ``fetch`` itself, which must know that a reply was lost.
        reader = self._redis(
            socket_timeout=MAX_BLOCK + COMMAND_TIMEOUT, retry=Retry(NoBackoff(), 0), role=":read"
        )
        for redis in (client, reader):
            # Raw replies: the records are built straight from hiredis's lists.
            redis.set_response_callback("XREADGROUP", _raw)
            redis.set_response_callback("XRANGE", _raw)
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("append", _APPEND),
                ("prune", _PRUNE),
                ("take", _TAKE),
                ("extend", _EXTEND),
                ("release", _RELEASE),
                ("reap", _REAP),
                ("stats", _STATS),
                ("schedule", _SCHEDULE),
                ("claim", _CLAIM),
                ("release_claims", _RELEASE_CLAIMS),
                ("finish", _FINISH),
                ("delayed", _DELAYED),
            )
        }
        self._client, self._reader = client, reader
        self._reads.clear()
        self._room.clear()
        self._appends_done = asyncio.Event()
        self._closed = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for event in self._room.values():
            event.set()
        if self._appending and self._appends_done is not None:
            await self._appends_done.wait()
        client, reader = self._client, self._reader
        assert client is not None
        assert reader is not None
        try:
            for reading in self._reads.values():
                # Hand what this consumer still holds to the other workers at once, instead
                # of after ack_timeout; if it fails, they take it after ack_timeout anyway.
                gone = await self._scripts["release"](
                    keys=[reading.key],
                    args=[reading.group, self.consumer, RELEASED_IDLE_MS],
                )
                self._log_gone(reading, gone)
        except RedisError as exc:
            logger.warning(
                "Redis store %r: releasing the pending entries of %s on close failed (%s); "
                "other workers take them over after ack_timeout",
                self._shown,
                self.consumer,
                exc,
            )
        finally:
            self._reads.clear()
            self._client = self._reader = None
            await reader.aclose()
            await client.aclose()

    def _check_open(self) -> Redis:
        if self._closed or self._client is None:
            raise StoreClosedError(
                f"store {self._shown!r} is closed; open it (or start the bridge)"
            )
        return self._client

    def _failed(self, what: str, exc: RedisError) -> StoreError:
        if self._closed:
            return StoreClosedError(f"store {self._shown!r} was closed while {what}")
        return StoreError(f"Redis store {self._shown!r}: {what} failed: {exc}")

    async def _call(self, what: str, work: Awaitable[T]) -> T:
        try:
            return await work
        except RedisError as exc:
            raise self._failed(what, exc) from exc

    def _bus_key(self, bus: str) -> str:
        return f"{self.prefix}:bus:{bus}"

    def _keeps_key(self, bus: str) -> str:
        return f"{self.prefix}:keeps:{bus}"

    def _retention_key(self, bus: str) -> str:
        return f"{self.prefix}:retention:{bus}"

    # -- appends ---------------------------------------------------------------------------

    async def append(
        self, bus: str, bodies: Sequence[bytes], *, block: bool = True
    ) -> list[Position]:
        self._check_open()
        if not bodies:
            return []
        key = self._bus_key(bus)
        bound = self.maxlen if block else 0
        positions: list[Position] = []
        self._appending += 1
        if self._appends_done is not None:
            self._appends_done.clear()
        try:
            for start in range(0, len(bodies), APPEND_CHUNK):
                chunk = bodies[start : start + APPEND_CHUNK]
                pause = 0.01
                while True:
                    last = await self._call(
                        f"appending to bus {bus!r}",
                        self._scripts["append"](
                            keys=[key, self._retention_key(bus)], args=[bound, *chunk]
                        ),
                    )
                    if last >= 0:
                        break
                    if last == -2:
                        raise StoreError(
                            f"Redis store {self._shown!r}: bus {bus!r} holds {self.maxlen} "
                            "events (maxlen) and no consumer group reads it, so none can be "
                            "removed; start a worker that reads the bus, or raise maxlen= in "
                            f"the store URL ({len(positions)} of {len(bodies)} events were "
                            "appended)"
                        )
                    await self._wait_for_room(bus, pause)
                    pause = min(pause * 2, 0.5)
                first = last - len(chunk) + 1
                positions += [Position(0, seq) for seq in range(first, last + 1)]
        finally:
            self._appending -= 1
            if not self._appending and self._appends_done is not None:
                self._appends_done.set()
        return positions

    async def _wait_for_room(self, bus: str, pause: float) -> None:
        """Prune what the groups finished (the workers may prune only now and then), then
        wait a moment: for a prune of this store object, or to look again."""
        room = self._room.setdefault(bus, asyncio.Event())
        room.clear()
        if await self._prune(bus):
            return
        try:
            async with asyncio.timeout(pause):
                await room.wait()
        except TimeoutError:
            pass
        self._check_open()

    async def _prune(self, bus: str) -> int:
        client = self._check_open()
        self._pruned_at[bus] = time.monotonic()
        trimmed: int = await self._call(
            f"pruning bus {bus!r}",
            self._scripts["prune"](
                keys=[self._bus_key(bus), self._keeps_key(bus), self._retention_key(bus)],
                client=client,
            ),
        )
        if trimmed:
            room = self._room.get(bus)
            if room is not None:
                room.set()
        return trimmed

    async def _maybe_prune(self, bus: str) -> None:
        if time.monotonic() - self._pruned_at.get(bus, -math.inf) >= self.prune_interval:
            await self._prune(bus)

    # -- reads -----------------------------------------------------------------------------

    async def _reading(self, bus: str, group: str) -> _Reading:
        reading = self._reads.get((bus, group))
        if reading is None:
            client = self._check_open()
            key = self._bus_key(bus)
            try:
                # From 0: events published before any worker ran are delivered too.
                await client.xgroup_create(key, group, "0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise self._failed(f"creating group {group!r} of bus {bus!r}", exc) from exc
            except RedisError as exc:
                raise self._failed(f"creating group {group!r} of bus {bus!r}", exc) from exc
            reading = self._reads[(bus, group)] = _Reading(key, group)
        return reading

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        clock = time.monotonic
        deadline = clock() + timeout
        failures = 0
        while True:
            reading = await self._reading(bus, group)
            try:
                if reading.reread:
                    records = await self._take_own(reading, max_count)
                    if records:
                        return records
                if reading.dead or reading.lapsed_left or clock() >= reading.next_sweep:
                    records = await self._sweep(reading, max_count)
                    if records:
                        return records
                now = clock()
                block = min(deadline - now, reading.next_sweep - now, MAX_BLOCK)
                records = await self._read_new(reading, max_count, block)
                failures = 0
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise self._failed(f"reading bus {bus!r} for group {group!r}", exc) from exc
                # The stream or the group was deleted under us: create it again.
                self._reads.pop((bus, group), None)
                records = []
            except (RedisConnectionError, RedisTimeoutError) as exc:
                failures += 1
                if self._closed or failures > 3 or clock() >= deadline:
                    raise self._failed(f"reading bus {bus!r} for group {group!r}", exc) from exc
                logger.warning(
                    "Redis store %r: reading bus %r lost its connection (%s); reconnecting",
                    self._shown,
                    bus,
                    exc,
                )
                await asyncio.sleep(min(0.05 * 2**failures, max(0.0, deadline - clock())))
                records = []
            except RedisError as exc:
                raise self._failed(f"reading bus {bus!r} for group {group!r}", exc) from exc
            if records or clock() >= deadline:
                return records

    async def _read_new(self, reading: _Reading, max_count: int, block: float) -> list[Record]:
        reader = self._reader
        if reader is None:
            raise StoreClosedError(f"store {self._shown!r} is closed")
        args: list[Any] = ["XREADGROUP", "GROUP", reading.group, self.consumer]
        args += ["COUNT", max_count]
        if block > 0:
            args += ["BLOCK", max(1, int(block * 1000))]  # BLOCK 0 would wait forever
        args += ["STREAMS", reading.key, ">"]
        try:
            reply = await _command(reader, *args)
        except BaseException:
            # The reply may have been lost after the server handed entries to this consumer:
            # the next fetch hands out again its pending entries above those it was handed
            # (new entries of a lost reply are above any entry delivered before them).
            if not reading.reread:
                reading.reread = True
                reading.reread_from = f"(0-{reading.handed}" if reading.handed else "-"
            raise
        if not reply:
            return []
        new = _NEW
        records = [
            new(Record, (0, int(id_[2:]), fields[1], 1, id_, _appended(fields)))
            for id_, fields in reply[0][1]
        ]
        if records:
            reading.handed = max(reading.handed, records[-1][1])
        return records

    async def _take(
        self, reading: _Reading, *, idle: int, start: str, count: int, owner: str
    ) -> tuple[list[Record], bytes, int]:
        """Claim pending entries for this consumer; return them, the last id scanned, how many
        were scanned."""
        out, gone, last, scanned = await self._scripts["take"](
            keys=[reading.key],
            args=[reading.group, self.consumer, idle, start, min(count, TAKE_CHUNK), owner],
        )
        self._log_gone(reading, gone)
        new = _NEW
        records = [
            new(Record, (0, int(out[i][2:]), out[i + 1], out[i + 2], out[i], _time(out[i + 3])))
            for i in range(0, len(out), 4)
        ]
        if records:
            reading.handed = max(reading.handed, records[-1][1])
        return records, last, scanned

    def _log_gone(self, reading: _Reading, gone: list[bytes]) -> None:
        if gone:
            logger.warning(
                "Redis store %r: %d events pending for group %r were removed from %s before "
                "they were acknowledged (trimmed, or deleted by hand); they are skipped: %s",
                self._shown,
                len(gone),
                reading.group,
                reading.key,
                b", ".join(gone).decode(),
            )

    async def _take_own(self, reading: _Reading, max_count: int) -> list[Record]:
        """Hand out this consumer's pending entries again, page by page."""
        count = min(max_count, TAKE_CHUNK)
        records, last, scanned = await self._take(
            reading, idle=0, start=reading.reread_from, count=count, owner=self.consumer
        )
        if scanned < count:
            reading.reread, reading.reread_from = False, "-"
        else:
            reading.reread_from = f"({last.decode()}"
        return records

    async def _sweep(self, reading: _Reading, max_count: int) -> list[Record]:
        """Take over the entries of dead local consumers, then the entries that lapsed."""
        if time.monotonic() >= reading.next_sweep:
            reading.next_sweep = time.monotonic() + self._sweep_interval
            await self._scan_consumers(reading)
        records: list[Record] = []
        for owner in sorted(reading.dead):
            count = min(max_count - len(records), TAKE_CHUNK)
            taken, _, scanned = await self._take(
                reading, idle=0, start="-", count=count, owner=owner
            )
            records += taken
            if scanned < count:
                reading.dead.discard(owner)
                logger.info(
                    "Redis store %r: took over the pending entries of %s (its process is gone)",
                    self._shown,
                    owner,
                )
            if len(records) >= max_count:
                return records
        count = min(max_count - len(records), TAKE_CHUNK)
        taken, _, scanned = await self._take(
            reading, idle=self._ack_timeout_ms, start="-", count=count, owner=""
        )
        reading.lapsed_left = scanned >= count
        return records + taken

    async def _scan_consumers(self, reading: _Reading) -> None:
        """Find the group's consumers whose process is gone; delete the empty long-idle ones."""
        client = self._check_open()
        consumers = await client.xinfo_consumers(reading.key, reading.group)
        empty: list[str] = []
        for consumer in consumers:
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name == self.consumer:
                continue
            gone = not alive(name)
            if int(consumer["pending"]):
                if gone:
                    reading.dead.add(name)
            elif gone or int(consumer["idle"]) > self._reap_idle_ms:
                empty.append(name)
        if empty:
            await self._scripts["reap"](keys=[reading.key], args=[reading.group, *empty])

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        raise NotImplementedError("the Redis store acknowledges records; it commits no offsets")

    async def ack(self, bus: str, group: str, records: Sequence[Record]) -> None:
        client = self._check_open()
        ids = [record[4] for record in records if record[4] is not None]
        key = self._bus_key(bus)
        for start in range(0, len(ids), 10_000):
            await self._call(
                f"acknowledging {len(ids)} events of bus {bus!r}",
                _command(client, "XACK", key, group, *ids[start : start + 10_000]),
            )
        if ids:
            await self._maybe_prune(bus)

    async def extend(self, bus: str, group: str, records: Sequence[Record]) -> None:
        client = self._check_open()
        ids = [r[4] for r in sorted(records, key=itemgetter(1)) if r[4] is not None]
        key = self._bus_key(bus)
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            await self._call(
                f"extending the claims of {len(ids)} events of bus {bus!r}",
                self._scripts["extend"](
                    keys=[key],
                    args=[group, self.consumer, chunk[0], chunk[-1], *chunk],
                    client=client,
                ),
            )

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        return {}  # acknowledged records are settled one by one: there is no watermark

    async def rewind(self, bus: str, group: str) -> None:
        # A rewound listener forgot what it had in flight: hand this consumer's pending
        # entries out again at once rather than after ack_timeout.
        reading = self._reads.get((bus, group))
        if reading is not None:
            reading.reread, reading.reread_from = True, "-"

    # -- the delay queue -------------------------------------------------------------------

    def _queue_base(self, group: str) -> str:
        return f"{self.prefix}:dq:{group}:"

    async def schedule(self, group: str, entries: Sequence[Delayed]) -> None:
        client = self._check_open()
        if not entries:
            return
        args: list[Any] = [self._queue_base(group), f"{self.prefix}:keeps:"]
        for entry in entries:
            keeps = entry.keeps
            args += [
                entry.key, repr(float(entry.due)), entry.body, entry.weight,
                keeps[0] if keeps else "", keeps[2] if keeps else 0,
            ]  # fmt: skip
        await self._call(
            f"scheduling {len(entries)} entries for group {group!r}",
            self._scripts["schedule"](
                keys=[f"{self.prefix}:dq:ids", self._queue_base(group) + "sizes"],
                args=args,
                client=client,
            ),
        )

    async def claim(
        self, group: str, key: str, *, now: float, max_count: int, lease: float
    ) -> list[Claimed]:
        client = self._check_open()
        await self._release_dead_claims(group)
        out = await self._call(
            f"claiming entries of {key!r} for group {group!r}",
            self._scripts["claim"](
                args=[
                    self._queue_base(group),
                    key,
                    repr(now),
                    max_count,
                    repr(now + lease),
                    self.consumer,
                ],
                client=client,
            ),
        )
        key_ = key
        return [
            Claimed(int(out[i]), key_, float(out[i + 1]), out[i + 2], out[i + 3], int(out[i + 4]))
            for i in range(0, len(out), 5)
        ]

    async def _release_dead_claims(self, group: str) -> None:
        """Release the delay-queue claims of consumers of this host whose process is gone (a
        worker killed while it held retries or a backlog), so that they are claimable at once
        instead of when their lease ends; looked at every ``CLAIMANTS_INTERVAL`` s per group."""
        now = time.monotonic()
        if self._claimants_checked.get(group, -math.inf) + CLAIMANTS_INTERVAL > now:
            return
        self._claimants_checked[group] = now
        client = self._check_open()
        base = self._queue_base(group)
        owners = await self._call(
            f"reading the claimants of group {group!r}", client.hgetall(base + "owners")
        )
        dead: dict[str, list[str]] = {}
        for member, owner in owners.items():
            name = _text(owner)
            if name != self.consumer and not alive(name):
                dead.setdefault(name, []).append(_text(member))
        for name, members in dead.items():
            released = await self._call(
                f"releasing the claims of {name!r} in group {group!r}",
                self._scripts["release_claims"](args=[base, name, *members], client=client),
            )
            if released:
                logger.info(
                    "group %r: released %d delay-queue claims of %s, whose process is gone",
                    group,
                    released,
                    name,
                )

    async def finish(self, group: str, ids: Sequence[int | str]) -> None:
        client = self._check_open()
        if not ids:
            return
        base = self._queue_base(group)
        buses = await self._call(
            f"finishing {len(ids)} entries of group {group!r}",
            self._scripts["finish"](
                keys=[base + "sizes"],
                args=[base, f"{self.prefix}:keeps:", *(f"{int(i):015d}" for i in ids)],
                client=client,
            ),
        )
        for bus in {bus.decode() for bus in buses}:
            await self._maybe_prune(bus)

    async def delayed(self, group: str) -> dict[str, DelayStats]:
        client = self._check_open()
        base = self._queue_base(group)
        out = await self._call(
            f"sizing the delay queue of group {group!r}",
            self._scripts["delayed"](keys=[base + "sizes"], args=[base], client=client),
        )
        return {
            out[i].decode(): DelayStats(int(out[i + 1]), float(out[i + 2]))
            for i in range(0, len(out), 3)
        }

    # -- browsing --------------------------------------------------------------------------

    async def read(self, bus: str, *, after: int, max_count: int) -> list[Record]:
        client = self._check_open()
        reply = await self._call(
            f"reading bus {bus!r}",
            _command(
                client,
                "XRANGE",
                self._bus_key(bus),
                f"0-{max(after, 0) + 1}",
                "+",
                "COUNT",
                max_count,
            ),
        )
        new = _NEW
        return [
            new(Record, (0, int(id_[2:]), fields[1], 1, None, _appended(fields)))
            for id_, fields in reply
        ]

    async def delete(self, bus: str, positions: Sequence[Position]) -> int:
        client = self._check_open()
        if not positions:
            return 0
        removed: int = await self._call(
            f"deleting {len(positions)} events of bus {bus!r}",
            _command(
                client, "XDEL", self._bus_key(bus), *(f"0-{offset}" for _, offset in positions)
            ),
        )
        if removed and (room := self._room.get(bus)) is not None:
            room.set()
        return removed

    async def stats(self, bus: str, group: str | None = None) -> BusStats:
        client = self._check_open()
        reply = await self._call(
            f"sizing bus {bus!r}",
            self._scripts["stats"](keys=[self._bus_key(bus)], args=[group or ""], client=client),
        )
        last, length = int(reply[0][2:]), int(reply[1])
        if group is None:
            return BusStats(last, length)
        if not reply[2]:
            return BusStats(last, length, length)  # the group has read nothing yet
        pel, lag, delivered = int(reply[3]), int(reply[4]), reply[5]
        if lag < 0:
            # Redis cannot tell after deletions in the unread part: count them as unread.
            lag = min(length, last - int(delivered[2:]))
        return BusStats(last, length, pel + lag)

    async def set_retention(self, bus: str, retention: Retention | None) -> None:
        client = self._check_open()
        key = self._retention_key(bus)
        if retention is None:
            await self._call(f"clearing the retention of bus {bus!r}", client.delete(key))
            return
        age = retention.max_age_seconds
        count = retention.max_events
        value = f"{'-' if age is None else repr(age)} {'-' if count is None else count}"
        await self._call(f"setting the retention of bus {bus!r}", client.set(key, value))


def _raw(response: Any, **options: Any) -> Any:
    return response


def _command(redis: Redis, *args: Any) -> Awaitable[Any]:
    """Send a command as is; its reply comes back raw where a callback says so."""
    return redis.execute_command(*args)  # type: ignore[no-untyped-call]
