"""The NATS JetStream store (``nats://host:4222``): competing workers on a NATS server.

Every worker process of an application points at the same NATS server (or cluster) and shares
the work of each bus through a durable pull consumer per consumer group (``acks = True``): each
record goes to one worker, is settled by an ack, and one not acknowledged within ``ack_timeout``
seconds is handed out again, to any worker, with its true delivery count. Needs nats-server 2.9
or later with JetStream enabled.

Layout, under ``prefix`` (``eb``):

- a **stream per bus**, ``{prefix}_{bus}``, capturing the subject ``{prefix}.bus.{bus}``, with
  limits retention and no limits. Names are escaped to stream-name tokens: ``A-Z a-z 0-9 -``
  stay, every other byte becomes ``_XX`` (hex), so ``orders.eu`` is ``orders_2Eeu``; distinct
  names never share a stream, and the escaping is undone by :func:`unescape_name`. An offset is
  the stream sequence (``Position(0, seq)``). A stream per bus rather than one stream with a
  subject per bus, because JetStream accounts per stream: a stream's state is the bus's size and
  last offset (one ``STREAM.INFO``), a consumer's ack floor is the bus's settled prefix, a purge
  up to a sequence prunes exactly one bus, offsets are dense, and a busy bus never shares a file
  or (in a cluster) a Raft group with a quiet one. The price is one stream per bus; an
  application with thousands of buses would be lighter on one shared stream.
- a **durable pull consumer per group** on each bus's stream, named after the group: explicit
  acks, ``ack_wait`` = ``ack_timeout``, no delivery limit (the runtime retries and dead-letters
  itself), delivering from the first event (events published before any worker ran are
  delivered), ``max_ack_pending`` unlimited. Streams and consumers are created on first use;
  creating what exists with the same settings is a no-op, so workers may race to create them
  (every worker should use the same URL: a worker with another ``ack_timeout`` updates the
  consumer's ``ack_wait`` for all).
- a **Key-Value bucket per group** for the delay queue, ``{prefix}_DQ_{group}`` (history 1).

Not interest or work-queue retention: interest drops what no consumer is subscribed to yet
(events published before the first worker ran), and work-queue allows one consumer per subject
(one group). Limits retention keeps everything, so the store prunes itself: at most every
``prune_interval`` seconds after acknowledgements, each bus is purged below the lowest ack floor
of its durable consumers and the lowest offset a delay-queue entry keeps (the consumers are read
first, the keeps after a sync of the mirror: an entry keeps an event from before the event is
acknowledged). A bus no group reads is never purged. A group created after a purge starts at
what is left, like a Redis group. A bus with a :class:`~eventbridge_sdk.Retention` is purged
below that floor only where its events are also past one of the retention's limits
(``max_events`` back from the last offset; ``max_age`` by the server's time stamps, against
this process's clock): the stream's own ``max_age`` and ``max_msgs`` are not used, because the
server would drop events no group has read yet. The retention lives in this store object: every
process that appends to or reads the bus should declare it (the processes of one application
do). Up to nats-server 2.9.14 a purge, even a partial one, made
every consumer forget its unacknowledged deliveries (fixed by nats-server#3892 in 2.9.15), which
would lose their redelivery; on those servers the store deletes the events one by one instead
(published without replies and confirmed in chunks), which costs the server about a quarter of
its throughput.

The hot path is raw and batched. ``append`` publishes the whole batch, each publish with its own
reply subject on one shared inbox, then awaits the PubAcks together: a batch of a thousand costs
about one round trip, and one connection keeps the batch in order. ``fetch`` publishes pull
requests (``$JS.API.CONSUMER.MSG.NEXT``) with a reply inbox it subscribed once, and long-polls
on the messages that come back: at most one pull request is outstanding per bus and group, what
arrives after a fetch returned is kept for the next one (and counted against ``ack_wait``, so
``extend`` covers it too). The ack subject of each message carries its stream sequence and
delivery count. ``ack`` publishes ``+ACK`` for each record and flushes once: an ack is a plain
publish, not a confirmed double ack, so one lost to a connection drop means the record comes back
(a duplicate, which at-least-once delivery allows). ``extend`` publishes ``+WPI`` (work in
progress), which restarts ``ack_wait``. ``rewind`` and ``close`` publish ``-NAK`` for what this
store object handed out and did not ack, so other workers get it at once, not after
``ack_wait``.

Bound: ``maxlen`` is a soft bound per bus, enforced by the store (the server never discards an
unconsumed event). ``append`` (``block=True``) waits while the bus holds ``maxlen`` events and a
group reads it, pruning when it can; when no group reads it, it raises :class:`StoreError`
instead of waiting forever. A batch that starts below the bound is accepted whole.
``block=False`` never waits.

The delay queue: each entry is a key ``{key}.{id}`` of the group's bucket (``id`` orders by
creation time), its value a small JSON header (key, due time, weight, kept position, claims, when
it may be claimed) and the body. Each store object mirrors the bucket in memory from a watcher
(an ordered push consumer: current values first, then every change; a gap, a missed heartbeat or
a reconnect reloads it), so ``delayed`` and pruning read locally. ``claim`` takes due candidates
from the mirror and updates each with a compare-and-set on its revision; an entry another worker
won is skipped. ``finish`` deletes entries; the delete markers are purged some minutes later
(every watcher has seen them by then; one that reloads does not need them).

Browsing: ``read`` creates an ephemeral consumer starting after the given offset, pulls one
batch and deletes it; ``delete`` deletes events one by one; ``stats`` reads the stream's and the
group's consumer's state (``pending`` = not yet delivered + delivered and not acknowledged).

Connections: one nats-py connection per store object, reconnecting forever. Appends in flight
when it drops fail with :class:`StoreError` (the caller retries; a retried append may duplicate);
pull requests are sent again; the mirrors reload; records delivered to the dropped connection
come back after ``ack_timeout``. Waits for the server are our own round trips (a message to our
own inbox), never nats-py's ``flush``: cancelling that one stops its reader for good.

URL: ``nats://[user:password@]host:port[,host2:port]?options`` (``tls://`` for TLS). Options:
``prefix`` (``eb``), ``ack_timeout`` (seconds, 30), ``maxlen`` (1,000,000), ``prune_interval``
(seconds, 1; 0 prunes after each acknowledgement), ``replicas`` (1), ``storage`` (``file`` or
``memory``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import inspect
import itertools
import logging
import math
import os
import re
import ssl
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import nats.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import Header

from .._errors import ConfigurationError, StoreClosedError, StoreError
from .._retention import Retention
from ._urls import redacted, seconds, whole
from .base import BusStats, Claimed, Delayed, DelayStats, Position, Record

__all__ = ["NatsStore", "ack_metadata", "escape_name", "unescape_name"]

logger = logging.getLogger("eventbridge_sdk")

DEFAULT_PREFIX = "eb"
DEFAULT_ACK_TIMEOUT = 30.0
DEFAULT_MAXLEN = 1_000_000
DEFAULT_PRUNE_INTERVAL = 1.0
CONNECT_TIMEOUT = 5.0
"""Seconds ``open`` waits for a first connection before it gives up."""
RECONNECT_WAIT = 0.5
REQUEST_TIMEOUT = 10.0
"""Seconds a batch of requests may go without any reply before it fails."""
MIN_EXPIRES = 0.01
MAX_WAITING = 512
WATCH_HEARTBEAT = 5.0
"""Idle heartbeat of the delay-queue watchers; two missed heartbeats reload the mirror."""
READY_TIMEOUT = 15.0
"""Seconds a delay-queue call waits for the mirror of the bucket to load."""
TOMBSTONE_AGE = 300.0
"""Seconds a delete marker of the delay queue stays, so that every watcher sees it."""
MAX_NAME = 120
"""Longer escaped names are shortened with a digest (stream names become file names)."""
DELETE_CHUNK = 2000
"""Events deleted per round trip when pruning deletes them one by one."""
ROOM_POLL = 0.5
"""Seconds between checks of a full bus while ``append`` waits for room."""

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_ESCAPED = re.compile(r"_([0-9A-F]{2})")
_TOKEN = re.compile(r"(?:[A-Za-z0-9-]|_[0-9A-F]{2})+")
_PREFIX = re.compile(r"[A-Za-z0-9-]{1,32}")
_STORAGE = ("file", "memory")
_STATUS = "Status"
_EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"
_KV_OP = "KV-Operation"
_SYNC_KEY = "_sync"
_WRONG_LAST_SEQUENCE = 10071
_STREAM_NOT_FOUND = 10059
_CONSUMER_NOT_FOUND = 10014
_NO_MESSAGE = 10057
# Our subjects are built from escaped names: checking each publish's subject again is waste
# (nats-py 2.12 and later check unless told not to).
_CONNECT_EXTRAS: dict[str, Any] = (
    {"skip_subject_validation": True}
    if "skip_subject_validation" in inspect.signature(Client.connect).parameters
    else {}
)


# -- names -------------------------------------------------------------------------------------


def escape_name(name: str) -> str:
    """A bus, group or key name as a token valid in stream, consumer and subject names.

    ``A-Z a-z 0-9 -`` stay; every other UTF-8 byte becomes ``_XX`` (upper-case hex); the empty
    name is ``_``. Distinct names give distinct tokens. A token longer than ``MAX_NAME`` is cut
    and ends with ``__`` and a digest of the name (``__`` never occurs otherwise).

    Example::

        assert escape_name("orders.eu") == "orders_2Eeu"
    """
    if not name:
        return "_"
    raw = name.encode()
    token = "".join(chr(b) if b in _SAFE else f"_{b:02X}" for b in raw)
    if len(token) > MAX_NAME:
        digest = hashlib.sha256(raw).hexdigest()[:32]
        token = f"{token[: MAX_NAME - 34].rstrip('_')}__{digest}"
    return token


_GROUP_DESCRIPTION = "eventbridge group "


def _group_of(consumer: dict[str, Any]) -> str | None:
    """The group a durable consumer reads for: from its description (set when it was made),
    else from its name (a name shortened with a digest cannot be read back)."""
    description = str(consumer["config"].get("description") or "")
    if description.startswith(_GROUP_DESCRIPTION):
        return description[len(_GROUP_DESCRIPTION) :]
    return unescape_name(consumer["name"])


def unescape_name(token: str) -> str | None:
    """The name :func:`escape_name` made ``token`` from; ``None`` for a shortened token."""
    if token == "_":
        return ""
    if "__" in token or not _TOKEN.fullmatch(token):
        return None
    raw = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), token).encode("latin-1")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None  # not a token escape_name makes


def ack_metadata(reply: str) -> tuple[str, str, int, int, int, int, int]:
    """What a JetStream ack subject says about a delivered message: ``(stream, consumer,
    delivered, stream_seq, consumer_seq, timestamp_ns, pending)``.

    Both forms are understood: ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.
    <pending>`` and the newer ``$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.
    <sseq>.<cseq>.<ts>.<pending>.<random>``.

    Example::

        meta = ack_metadata("$JS.ACK.eb_orders.g.2.17.20.1700000000000000000.0")
        assert meta[2:4] == (2, 17)
    """
    tokens = reply.split(".")
    if len(tokens) == 9:
        first = 2
    elif len(tokens) >= 12:
        first = 4
    else:
        raise ValueError(f"{reply!r} is not a JetStream ack subject")
    if tokens[0] != "$JS" or tokens[1] != "ACK":
        raise ValueError(f"{reply!r} is not a JetStream ack subject")
    stream, consumer = tokens[first], tokens[first + 1]
    n = [int(t) for t in tokens[first + 2 : first + 7]]
    return stream, consumer, n[0], n[1], n[2], n[3], n[4]


def _delivery(reply: str) -> tuple[int, int, float]:
    """(delivery count, stream sequence, when stored in Unix seconds) of an ack subject: the
    hot-path part of the parse."""
    tokens = reply.split(".")
    if len(tokens) == 9:
        return int(tokens[4]), int(tokens[5]), int(tokens[7]) / 1e9
    return int(tokens[6]), int(tokens[7]), int(tokens[9]) / 1e9


# -- the URL -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Options:
    servers: list[str]
    user: str | None
    password: str | None
    tls: bool
    prefix: str
    ack_timeout: float
    maxlen: int
    prune_interval: float
    replicas: int
    storage: str


def _parse_url(url: str) -> _Options:
    shown = redacted(url)
    parts = urlsplit(url)
    if parts.scheme not in ("nats", "tls"):
        raise ConfigurationError(f"store URL {shown!r} is not a nats:// or tls:// URL")
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"store URL {shown!r} has a path ({parts.path!r}); a NATS store URL names servers "
            "and options only, as in nats://localhost:4222?prefix=eb"
        )
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user = password = None
    if userinfo:
        raw_user, _, raw_password = userinfo.partition(":")
        user, password = unquote(raw_user), unquote(raw_password)
    servers = []
    for host in (hosts or "localhost").split(","):
        host = host.strip()
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if not name or not port:
            name, port = host, "4222"
        if not name or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(
                f"store URL {shown!r}: {host!r} is not a server; use host:port, several "
                "separated by commas"
            )
        servers.append(f"{parts.scheme}://{name}:{port}")
    query = parse_qs(parts.query, keep_blank_values=True)
    options = {key: values[-1] for key, values in query.items()}
    prefix = options.pop("prefix", DEFAULT_PREFIX)
    if not _PREFIX.fullmatch(prefix):
        raise ConfigurationError(
            f"store URL {shown!r}: option prefix={prefix!r} is not valid: it must be 1 to 32 of "
            "A-Z a-z 0-9 - (stream and bucket names start with it; _ separates the parts)"
        )
    ack_timeout = seconds(shown, options, "ack_timeout", DEFAULT_ACK_TIMEOUT, zero=False)
    prune_interval = seconds(shown, options, "prune_interval", DEFAULT_PRUNE_INTERVAL, zero=True)
    maxlen = whole(shown, options, "maxlen", DEFAULT_MAXLEN, 1, 2**62)
    replicas = whole(shown, options, "replicas", 1, 1, 5)
    storage = options.pop("storage", "file")
    if storage not in _STORAGE:
        raise ConfigurationError(
            f"store URL {shown!r}: option storage={storage!r} is not valid: it must be 'file' "
            "or 'memory'"
        )
    if options:
        raise ConfigurationError(
            f"store URL {shown!r}: unknown option(s) {sorted(options)}; known: prefix, "
            "ack_timeout, maxlen, prune_interval, replicas, storage"
        )
    return _Options(
        servers,
        user,
        password,
        parts.scheme == "tls",
        prefix,
        ack_timeout,
        maxlen,
        prune_interval,
        replicas,
        storage,
    )


# -- requests: many at once over one inbox ---------------------------------------------------


class _Batch:
    __slots__ = ("future", "remaining", "replies")

    def __init__(self, size: int, future: asyncio.Future[list[Msg]]) -> None:
        self.replies: list[Msg | None] = [None] * size
        self.remaining = size
        self.future = future


class _Requests:
    """Sends requests in batches: every request of a batch is published with its own reply
    subject on one inbox subscribed once, then the replies are awaited together."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.prefix = nc.new_inbox() + "."
        self.batches: dict[int, _Batch] = {}
        self.ids = itertools.count(1)

    async def start(self) -> None:
        await self.nc.subscribe(self.prefix + ">", cb=self._on_reply)

    async def _on_reply(self, msg: Msg) -> None:
        batch_id, _, index = msg.subject[len(self.prefix) :].partition(".")
        batch = self.batches.get(int(batch_id))
        if batch is None:
            return  # a late reply of a batch that failed
        i = int(index)
        if batch.replies[i] is None:
            batch.replies[i] = msg
            batch.remaining -= 1
            if not batch.remaining and not batch.future.done():
                batch.future.set_result(batch.replies)  # type: ignore[arg-type]

    async def send(
        self, requests: Sequence[tuple[str, bytes, dict[str, str] | None]], what: str
    ) -> list[Msg]:
        """Publish every request, then wait for every reply; ``what`` names them in errors."""
        if not requests:
            return []
        batch_id = next(self.ids)
        future: asyncio.Future[list[Msg]] = asyncio.get_running_loop().create_future()
        batch = self.batches[batch_id] = _Batch(len(requests), future)
        reply = f"{self.prefix}{batch_id}."
        publish = self.nc.publish
        try:
            for i, (subject, payload, headers) in enumerate(requests):
                await publish(subject, payload, reply=reply + str(i), headers=headers)
            while True:
                left = batch.remaining
                try:
                    return await asyncio.wait_for(asyncio.shield(future), REQUEST_TIMEOUT)
                except TimeoutError:
                    if batch.remaining == left:
                        raise StoreError(
                            f"{what}: NATS did not answer {left} of {len(requests)} requests "
                            f"within {REQUEST_TIMEOUT:g} s"
                        ) from None
        except nats.errors.Error as exc:
            raise StoreError(f"{what}: {exc or type(exc).__name__}") from exc
        finally:
            self.batches.pop(batch_id, None)
            if not future.done():
                future.cancel()

    async def echo(self, what: str) -> None:
        """Wait until the server has read everything published so far: publish a message to
        our own inbox and wait for it to come back (a cancellable ``flush``: nats-py's breaks
        its reader when the wait for a PONG is cancelled)."""
        batch_id = next(self.ids)
        future: asyncio.Future[list[Msg]] = asyncio.get_running_loop().create_future()
        self.batches[batch_id] = _Batch(1, future)
        try:
            await self.nc.publish(f"{self.prefix}{batch_id}.0", b"")
            async with asyncio.timeout(REQUEST_TIMEOUT):
                await future
        except TimeoutError:
            raise StoreError(f"{what}: NATS did not confirm within {REQUEST_TIMEOUT:g} s") from None
        except nats.errors.Error as exc:
            raise StoreError(f"{what}: {exc or type(exc).__name__}") from exc
        finally:
            self.batches.pop(batch_id, None)

    def fail_all(self, reason: str) -> None:
        """Fail every batch waiting for replies (the connection dropped: they will not come)."""
        for batch in self.batches.values():
            if not batch.future.done():
                batch.future.set_exception(StoreError(reason))


def _reply_json(msg: Msg, what: str) -> dict[str, Any]:
    """The JSON of a JetStream reply; a status reply (no responders) is an error."""
    status = msg.headers.get(_STATUS) if msg.headers else None
    if status is not None and not msg.data:
        if status == "503":
            raise StoreError(
                f"{what}: nothing answered (503 no responders): JetStream is not enabled "
                "(nats-server -js), the account may not use it, or the stream is gone"
            )
        raise StoreError(f"{what}: NATS answered status {status}")
    data: dict[str, Any] = orjson.loads(msg.data)
    return data


def _error_code(data: dict[str, Any]) -> int | None:
    error = data.get("error")
    return int(error.get("err_code", 0)) if error else None


def _raise_error(data: dict[str, Any], what: str) -> None:
    error = data.get("error")
    if error:
        raise StoreError(
            f"{what}: {error.get('description', 'failed')} (JetStream error "
            f"{error.get('err_code')}, code {error.get('code')})"
        )


# -- buses and their readers -------------------------------------------------------------------


class _Bus:
    """What a store object knows about one bus's stream."""

    __slots__ = (
        "base_last",
        "base_messages",
        "created",
        "last_seq",
        "name",
        "prune_again",
        "prune_at",
        "pruner",
        "purged_to",
        "room",
        "stream",
        "subject",
    )

    def __init__(self, name: str, prefix: str) -> None:
        token = escape_name(name)
        self.name = name
        self.stream = f"{prefix}_{token}"
        self.subject = f"{prefix}.bus.{token}"
        self.created: asyncio.Future[None] | None = None
        # The size estimate: messages as of the last stream info, plus what was appended since.
        self.base_messages = 0
        self.base_last = 0
        self.last_seq = 0
        self.purged_to = 0
        self.room = asyncio.Event()
        self.prune_at = 0.0
        self.prune_again = False
        self.pruner: asyncio.Task[None] | None = None

    def observe(self, state: dict[str, Any]) -> None:
        self.base_messages = int(state.get("messages", 0))
        self.base_last = self.last_seq = max(self.last_seq, int(state.get("last_seq", 0)))

    @property
    def estimate(self) -> int:
        return self.base_messages + self.last_seq - self.base_last


class _Reader:
    """Reads one bus for one group through this store object: one inbox, at most one pull
    request outstanding, and the messages that came in and were not handed out yet."""

    __slots__ = (
        "buffer",
        "bus",
        "consumer",
        "expected",
        "group",
        "handed",
        "inbox",
        "problem",
        "pull_subject",
        "ready",
        "request",
        "request_until",
        "requests",
        "setup",
        "sub",
        "wake",
    )

    def __init__(self, bus: _Bus, group: str) -> None:
        self.bus = bus
        self.group = group
        self.consumer = escape_name(group)
        self.pull_subject = f"$JS.API.CONSUMER.MSG.NEXT.{bus.stream}.{self.consumer}"
        self.inbox = ""
        self.sub: Any = None
        self.buffer: deque[Msg] = deque()
        self.wake = asyncio.Event()
        self.ready = False  # the consumer is known to exist
        self.request = 0  # the number of the outstanding pull request; 0: none
        self.expected = 0  # messages the outstanding pull request may still bring
        self.request_until = 0.0
        self.requests = itertools.count(1)
        self.handed: set[str] = set()  # ack subjects handed out and not acked
        self.problem: str | None = None
        self.setup = asyncio.Lock()

    async def on_msg(self, msg: Msg) -> None:
        if msg.reply:
            self.buffer.append(msg)
            self.expected -= 1
            if self.expected <= 0:
                self.request = 0  # the batch is served; the server sends no notice
            self.wake.set()
            return
        headers = msg.headers or {}
        status = headers.get(_STATUS)
        if status == "100":
            return  # a heartbeat
        if msg.subject.rpartition(".")[2] == str(self.request):
            self.request = 0  # the pull request ended: batch served, expired or refused
            description = str(headers.get(Header.DESCRIPTION, ""))
            if status == "409" and "Deleted" in description:
                self.ready = False  # create the consumer again
            elif status not in ("404", "408"):
                if status != "409":
                    self.ready = False  # look at the consumer again
                self.problem = f"status {status} {description}"
        self.wake.set()

    def take(self, max_count: int) -> list[Record]:
        pop, new = self.buffer.popleft, tuple.__new__
        records: list[Record] = []
        handles = []
        for _ in range(min(max_count, len(self.buffer))):
            msg = pop()
            reply = msg.reply
            tokens = reply.split(".")
            if len(tokens) == 9:
                deliveries, seq, stamp = tokens[4], tokens[5], tokens[7]
            else:  # $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>...
                deliveries, seq, stamp = tokens[6], tokens[7], tokens[9]
            appended = int(stamp) / 1e9  # when the server stored it, in nanoseconds
            records.append(new(Record, (0, int(seq), msg.data, int(deliveries), reply, appended)))
            handles.append(reply)
        self.handed.update(handles)
        return records

    def forget(self) -> list[str]:
        """Drop what was received and handed out; return their ack subjects (to nak)."""
        subjects = [msg.reply for msg in self.buffer]
        subjects += self.handed
        self.buffer.clear()
        self.handed.clear()
        return subjects


# -- the delay queue's mirror ----------------------------------------------------------------


class _Entry:
    __slots__ = ("available", "body", "claims", "due", "keeps", "key", "revision", "weight")

    def __init__(
        self,
        key: str,
        due: float,
        available: float,
        weight: int,
        claims: int,
        keeps: tuple[str, int] | None,
        body: bytes,
        revision: int,
    ) -> None:
        self.key = key
        self.due = due
        self.available = available
        self.weight = weight
        self.claims = claims
        self.keeps = keeps
        self.body = body
        self.revision = revision

    def encode(self) -> bytes:
        keeps = self.keeps or (None, None)
        header = [self.key, self.due, self.available, self.weight, self.claims, *keeps]
        return orjson.dumps(header) + b"\n" + self.body

    @classmethod
    def decode(cls, value: bytes, revision: int) -> _Entry:
        header, _, body = value.partition(b"\n")
        key, due, available, weight, claims, keep_bus, keep_offset = orjson.loads(header)
        keeps = None if keep_bus is None else (keep_bus, keep_offset)
        return cls(key, due, available, weight, claims, keeps, body, revision)


class _Mirror:
    """One group's delay queue as this store object sees it, kept current by a watcher."""

    def __init__(self, store: NatsStore, group: str) -> None:
        self.store = store
        self.group = group
        self.bucket = f"{store.prefix}_DQ_{escape_name(group)}"
        self.stream = f"KV_{self.bucket}"
        self.prefix = f"$KV.{self.bucket}."
        self.lock = asyncio.Lock()  # claims of this store object, one at a time
        self.ready = asyncio.Event()
        self.entries: dict[str, _Entry] = {}
        self.heaps: dict[str, list[tuple[float, str]]] = {}  # key -> (available, id), lazy
        self.sizes: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.keeps: dict[str, Counter[int]] = {}
        self.removed: dict[str, int] = {}  # id -> revision of our delete, until watched
        self.own_markers: set[int] = set()
        self.markers: dict[str, tuple[int, float, bool]] = {}  # id -> (revision, at, own)
        self.applied = 0
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.generation = 0
        self.consumer: str | None = None
        self.sub: Any = None
        self.last_cseq = 0
        self.target = 0
        self.active = True
        self.restarter: asyncio.Task[None] | None = None
        self.restart_again = False
        self.watchdog: asyncio.Task[None] | None = None

    # -- the local state --

    def _put(self, entry_id: str, entry: _Entry) -> None:
        old = self.entries.get(entry_id)
        if old is not None:
            self._unindex(old)
        self.entries[entry_id] = entry
        self.sizes[entry.key] += entry.weight
        self.counts[entry.key] += 1
        if entry.keeps is not None:
            self.keeps.setdefault(entry.keeps[0], Counter())[entry.keeps[1]] += 1
        heap = self.heaps.setdefault(entry.key, [])
        heapq.heappush(heap, (entry.available, entry_id))
        if len(heap) > 4 * self.counts[entry.key] + 64:
            self.heaps[entry.key] = heap = [
                (e.available, i) for i, e in self.entries.items() if e.key == entry.key
            ]
            heapq.heapify(heap)

    def _unindex(self, entry: _Entry) -> None:
        self.sizes[entry.key] -= entry.weight
        self.counts[entry.key] -= 1
        if not self.counts[entry.key]:
            del self.sizes[entry.key], self.counts[entry.key]
            self.heaps.pop(entry.key, None)
        if entry.keeps is not None:
            kept = self.keeps[entry.keeps[0]]
            kept[entry.keeps[1]] -= 1
            if not kept[entry.keeps[1]]:
                del kept[entry.keeps[1]]
                if not kept:
                    del self.keeps[entry.keeps[0]]

    def _drop(self, entry_id: str) -> None:
        entry = self.entries.pop(entry_id, None)
        if entry is not None:
            self._unindex(entry)

    def apply_local(self, entry_id: str, entry: _Entry) -> None:
        """Our own write, acknowledged at ``entry.revision``: show it before the watcher does
        (unless the watcher is past it already, and so shows it or what followed it)."""
        if entry.revision <= self.applied or entry_id in self.removed:
            return
        old = self.entries.get(entry_id)
        if old is None or old.revision < entry.revision:
            self._put(entry_id, entry)

    def remove_local(self, entry_id: str, revision: int) -> None:
        """Our own delete, acknowledged at ``revision``."""
        if revision <= self.applied:  # the watcher saw it already
            marker = self.markers.get(entry_id)
            if marker is not None:
                self.markers[entry_id] = (marker[0], marker[1], True)
            return
        self.own_markers.add(revision)
        self._drop(entry_id)
        self.removed[entry_id] = revision

    def apply_watched(self, entry_id: str, revision: int, msg: Msg, stamp: int) -> None:
        deleted = bool(msg.headers and _KV_OP in msg.headers)
        removed = self.removed.get(entry_id)
        if removed is not None:
            if revision >= removed:
                del self.removed[entry_id]
        elif deleted:
            self._drop(entry_id)
        else:
            old = self.entries.get(entry_id)
            if old is None or old.revision < revision:
                try:
                    entry = _Entry.decode(msg.data, revision)
                except (ValueError, TypeError):
                    logger.error(
                        "delay queue of group %r: entry %r is not ours; ignored",
                        self.group,
                        entry_id,
                    )
                    return
                self._put(entry_id, entry)
        if deleted:
            own = revision in self.own_markers
            self.own_markers.discard(revision)
            self.markers[entry_id] = (revision, stamp / 1e9, own)

    def advance(self, revision: int) -> None:
        self.applied = revision
        if self.waiters:
            still = []
            for wanted, future in self.waiters:
                if revision >= wanted:
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((wanted, future))
            self.waiters = still

    def due(self, key: str, now: float, need: int, skip: set[str]) -> list[tuple[str, _Entry]]:
        """Entries of ``key`` claimable at ``now``, earliest first, while the weights before
        each stay under ``need`` (the heap is left as it was: a claim pushes the new state)."""
        heap = self.heaps.get(key)
        out: list[tuple[str, _Entry]] = []
        seen: list[tuple[float, str]] = []
        weight = 0
        while heap and weight < need:
            available, entry_id = heap[0]
            entry = self.entries.get(entry_id)
            if entry is None or entry.available != available:
                heapq.heappop(heap)  # stale
                continue
            if available > now:
                break
            seen.append(heapq.heappop(heap))
            if entry_id not in skip:
                out.append((entry_id, entry))
                weight += entry.weight
        for item in seen:
            heapq.heappush(heap, item)  # type: ignore[arg-type]
        return out

    def next_available(self, key: str) -> float:
        heap = self.heaps[key]
        while heap:
            available, entry_id = heap[0]
            entry = self.entries.get(entry_id)
            if entry is not None and entry.available == available:
                return available
            heapq.heappop(heap)
        return min(e.available for e in self.entries.values() if e.key == key)

    def stats(self) -> dict[str, DelayStats]:
        return {key: DelayStats(size, self.next_available(key)) for key, size in self.sizes.items()}

    def min_keep(self, bus: str) -> int | None:
        kept = self.keeps.get(bus)
        return min(kept) if kept else None

    def reset(self) -> None:
        self.entries.clear()
        self.heaps.clear()
        self.sizes.clear()
        self.counts.clear()
        self.keeps.clear()
        self.markers.clear()
        self.applied = 0
        self.last_cseq = 0

    # -- the watcher --

    def subject(self, entry_id: str) -> str:
        return self.prefix + entry_id

    async def on_msg(self, generation: int, msg: Msg) -> None:
        if generation != self.generation:
            return
        self.active = True
        reply = msg.reply
        if reply.startswith("$JS.ACK."):
            _, _, _, revision, cseq, stamp, pending = ack_metadata(reply)
            if cseq != self.last_cseq + 1:
                self.restart_soon(
                    f"a gap in the watcher's sequence ({cseq} after {self.last_cseq})"
                )
                return
            self.last_cseq = cseq
            entry_id = msg.subject[len(self.prefix) :]
            if entry_id != _SYNC_KEY:
                self.apply_watched(entry_id, revision, msg, stamp)
            self.advance(revision)
            if not self.ready.is_set() and (pending == 0 or revision >= self.target):
                self.loaded()
            return
        headers = msg.headers or {}
        if headers.get(_STATUS) == "100":
            if reply:  # flow control: everything before it has been processed
                with contextlib.suppress(nats.errors.Error, StoreError):
                    await self.store._requests().nc.publish(reply, b"")
            last = headers.get("Nats-Last-Consumer")
            if last is not None and int(last) != self.last_cseq:
                self.restart_soon("the watcher missed messages (heartbeat)")
        elif headers.get(_STATUS):
            self.restart_soon(f"the watcher got status {headers.get(_STATUS)}")

    def loaded(self) -> None:
        self.removed = {i: r for i, r in self.removed.items() if r > self.applied}
        self.ready.set()

    def restart_soon(self, reason: str | None = None) -> None:
        if reason is not None:
            logger.info("delay queue of group %r: reloading its mirror (%s)", self.group, reason)
        self.generation += 1  # what the old watcher still delivers is ignored
        self.ready.clear()
        if self.restarter is not None and not self.restarter.done():
            self.restart_again = True
            return
        self.restarter = asyncio.create_task(
            self._restart_loop(), name=f"eventbridge-nats-mirror:{self.bucket}"
        )

    async def _restart_loop(self) -> None:
        pause = 0.1
        while not self.store._closed:
            self.restart_again = False
            try:
                await self._restart()
            except (StoreError, nats.errors.Error) as exc:
                logger.warning(
                    "delay queue of group %r: loading its mirror failed (%s); again in %.1f s",
                    self.group,
                    exc,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            if not self.restart_again:
                return

    async def _restart(self) -> None:
        store = self.store
        nc = store._client()
        self.generation += 1
        generation = self.generation
        self.ready.clear()
        old_sub, old_consumer = self.sub, self.consumer
        self.sub = self.consumer = None
        if old_sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await old_sub.unsubscribe()
        if old_consumer is not None:
            with contextlib.suppress(StoreError):
                await store._api(f"CONSUMER.DELETE.{self.stream}.{old_consumer}", None)
        self.reset()
        await store._ensure_bucket(self)
        info = await store._api(f"STREAM.INFO.{self.stream}", None)
        self.target = int(info["state"]["last_seq"])
        inbox = nc.new_inbox()

        async def on_msg(msg: Msg) -> None:
            await self.on_msg(generation, msg)

        self.sub = await nc.subscribe(inbox, cb=on_msg)
        created = await store._api(
            f"CONSUMER.CREATE.{self.stream}",
            {
                "stream_name": self.stream,
                "config": {
                    "deliver_subject": inbox,
                    "deliver_policy": "last_per_subject",
                    "filter_subject": f"{self.prefix}>",
                    "ack_policy": "none",
                    "flow_control": True,
                    "idle_heartbeat": int(WATCH_HEARTBEAT * 1e9),
                    "inactive_threshold": int(30e9),
                    "mem_storage": True,
                    "num_replicas": 1,
                    "replay_policy": "instant",
                },
            },
        )
        self.consumer = created["name"]
        if generation != self.generation:
            return  # superseded while it was being created: the loop starts again
        self.active = True
        if not self.ready.is_set() and (
            int(created.get("num_pending", 0)) == 0 or self.applied >= self.target
        ):
            self.loaded()
        if self.watchdog is None or self.watchdog.done():
            self.watchdog = asyncio.create_task(
                self._watch(), name=f"eventbridge-nats-watchdog:{self.bucket}"
            )

    async def _watch(self) -> None:
        """Reload the mirror when the watcher goes quiet; purge old delete markers."""
        while not self.store._closed:
            await asyncio.sleep(WATCH_HEARTBEAT * 2)
            if not self.active and self.store._connected():
                self.restart_soon("no heartbeat from the watcher")
            self.active = False
            try:
                await self._sweep()
            except StoreError as exc:
                logger.warning("purging old delete markers failed (%s); again later", exc)

    async def _sweep(self) -> None:
        now = time.time()
        old = [
            entry_id
            for entry_id, (_, at, own) in self.markers.items()
            if now - at > (TOMBSTONE_AGE if own else 2 * TOMBSTONE_AGE)
        ]
        if not old or not self.store._connected():
            return
        requests = [
            (
                f"$JS.API.STREAM.PURGE.{self.stream}",
                orjson.dumps({"filter": self.subject(entry_id)}),
                None,
            )
            for entry_id in old
        ]
        await self.store._requests().send(requests, f"delay queue of group {self.group!r}")
        for entry_id in old:
            self.markers.pop(entry_id, None)

    async def wait_ready(self) -> None:
        if self.ready.is_set():
            return
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await self.ready.wait()
        except TimeoutError:
            raise StoreError(
                f"the delay queue of group {self.group!r} (bucket {self.bucket}) did not load "
                f"within {READY_TIMEOUT:g} s; is the NATS server reachable?"
            ) from None

    async def wait_applied(self, revision: int) -> None:
        """Wait until the watcher has shown everything up to ``revision``."""
        if self.applied >= revision:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (revision, future)
        self.waiters.append(entry)
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await future
        except TimeoutError:
            raise StoreError(
                f"the delay queue mirror of group {self.group!r} did not catch up within "
                f"{READY_TIMEOUT:g} s"
            ) from None
        finally:
            if entry in self.waiters:
                self.waiters.remove(entry)

    async def stop_tasks(self) -> None:
        for task in (self.restarter, self.watchdog):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def stop(self) -> None:
        """Stop watching; delete the watcher's consumer (it would go after 30 s anyway)."""
        self.generation += 1
        await self.stop_tasks()
        if self.sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self.sub.unsubscribe()
        if self.consumer is not None:
            with contextlib.suppress(StoreError, nats.errors.Error):
                await self.store._api(f"CONSUMER.DELETE.{self.stream}.{self.consumer}", None)
        self.sub = self.consumer = None


def _failed(future: asyncio.Future[None]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


def _new_id() -> str:
    """A delay-queue id that sorts by creation time: nanoseconds and 32 random bits."""
    return f"{time.time_ns():020d}{os.urandom(4).hex()}"


# -- the store -------------------------------------------------------------------------------


class NatsStore:
    """A :class:`~eventbridge_sdk.stores.base.Store` on NATS JetStream, shared by competing
    workers.

    Example::

        store = NatsStore("nats://localhost:4222?prefix=shop&ack_timeout=30")
    """

    acks = True

    def __init__(self, url: str) -> None:
        self.url = url
        options = _parse_url(url)
        self._options = options
        self._shown = redacted(url)
        self.prefix = options.prefix
        self.ack_timeout: float | None = options.ack_timeout
        self.maxlen = options.maxlen
        self.prune_interval = options.prune_interval
        self._nc: Client | None = None
        self._calls: _Requests | None = None
        self._closed = True
        self._buses: dict[str, _Bus] = {}
        self._retention: dict[str, Retention] = {}
        self._readers: dict[tuple[str, str], _Reader] = {}
        self._mirrors: dict[str, _Mirror] = {}
        self._buckets: dict[str, asyncio.Future[None]] = {}
        self._appending = 0
        self._appends_done = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if not self._closed:
            return
        options = self._options
        nc = Client()
        failures: list[BaseException] = []
        gave_up = asyncio.Event()
        connecting = True

        async def on_error(exc: Exception) -> None:
            if connecting:
                failures.append(exc)
                if len(failures) >= len(options.servers):
                    gave_up.set()
            else:
                logger.warning("NATS store %s: %s", self._shown, exc or type(exc).__name__)

        connect = asyncio.ensure_future(
            nc.connect(
                servers=options.servers,
                user=options.user,
                password=options.password,
                tls=ssl.create_default_context() if options.tls else None,
                name=f"eventbridge:{os.getpid()}",
                error_cb=on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT,  # type: ignore[arg-type]
                connect_timeout=int(CONNECT_TIMEOUT),
                **_CONNECT_EXTRAS,
            )
        )
        failed = asyncio.ensure_future(gave_up.wait())
        try:
            await asyncio.wait(
                {connect, failed}, timeout=CONNECT_TIMEOUT, return_when="FIRST_COMPLETED"
            )
        except BaseException:
            await self._abandon(nc, connect)
            raise
        finally:
            failed.cancel()
            connecting = False
        if not connect.done() or connect.exception() is not None:
            reason = (
                failures[-1]
                if failures
                else (
                    connect.exception()
                    if connect.done()
                    else f"no answer within {CONNECT_TIMEOUT:g} s"
                )
            )
            await self._abandon(nc, connect)
            raise StoreError(
                f"cannot connect to NATS at {', '.join(options.servers)} ({reason}); check that "
                "nats-server runs there with JetStream enabled (nats-server -js)"
            )
        self._nc = nc
        self._calls = _Requests(nc)
        self._buses.clear()
        self._readers.clear()
        self._mirrors.clear()
        self._buckets.clear()
        self._appends_done = asyncio.Event()
        self._appends_done.set()
        self._closed = False
        try:
            await self._calls.start()
            [msg] = await self._calls.send([("$JS.API.INFO", b"", None)], "JetStream info")
            if msg.headers and msg.headers.get(_STATUS) == "503":
                raise StoreError("JetStream is not enabled there (nothing answers its API)")
            _raise_error(_reply_json(msg, "JetStream info"), "JetStream info")
        except (StoreError, nats.errors.Error) as exc:
            self._closed = True
            with contextlib.suppress(Exception):
                await nc.close()
            self._nc = self._calls = None
            raise StoreError(
                f"NATS at {', '.join(options.servers)} answers, but {exc}; start nats-server "
                "with JetStream enabled (nats-server -js), for an account allowed to use it"
            ) from None

    @staticmethod
    async def _abandon(nc: Client, connect: asyncio.Future[None]) -> None:
        """Stop a first connection that is not going to be used."""
        connect.cancel()
        await asyncio.gather(connect, return_exceptions=True)
        with contextlib.suppress(Exception):
            await nc.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        nc = self._nc
        assert nc is not None
        if self._appending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    await self._appends_done.wait()
        for bus in self._buses.values():
            bus.room.set()
            if bus.pruner is not None and not bus.pruner.done():
                bus.pruner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await bus.pruner
        naks: list[str] = []
        connected = nc.is_connected
        for reader in self._readers.values():
            reader.wake.set()
            if reader.sub is not None:
                with contextlib.suppress(nats.errors.Error, TimeoutError):
                    # Drained: what the server sent before the unsubscription is handled.
                    # (Shielded: the drain waits on nats-py's flush, which must not be
                    # cancelled.)
                    if connected:
                        await asyncio.shield(reader.sub.drain())
                    else:
                        await reader.sub.unsubscribe()
            naks += reader.forget()
        naks_failed: str | None = None
        if connected:
            for mirror in self._mirrors.values():
                await mirror.stop()
            try:
                await self._settle(naks, b"-NAK", "giving back records", flush=bool(naks))
            except StoreError as exc:
                naks_failed = str(exc)
        else:
            for mirror in self._mirrors.values():
                mirror.generation += 1
                await mirror.stop_tasks()
            if naks:
                naks_failed = "not connected"
        if naks_failed is not None:
            logger.warning(
                "NATS store %s: giving back %d records failed (%s); they come back after "
                "ack_timeout",
                self._shown,
                len(naks),
                naks_failed,
            )
        with contextlib.suppress(Exception):
            await nc.close()
        self._nc = None
        self._calls = None

    async def _on_disconnected(self) -> None:
        if self._calls is not None:
            self._calls.fail_all(
                f"the connection to NATS ({self._shown}) dropped; the outcome of the requests "
                "in flight is unknown (an append may have been stored)"
            )
        for reader in self._readers.values():
            reader.request = 0  # the server forgets a pull request whose inbox went away
            reader.wake.set()

    async def _on_reconnected(self) -> None:
        logger.info("NATS store %s: reconnected", self._shown)
        for reader in self._readers.values():
            reader.wake.set()
        for mirror in self._mirrors.values():
            mirror.restart_soon("reconnected")

    def _client(self) -> Client:
        if self._closed or self._nc is None:
            raise StoreClosedError(
                f"store {self._shown!r} is closed; open it (or start the bridge)"
            )
        return self._nc

    def _requests(self) -> _Requests:
        """The request channel; it outlives ``_closed`` until the connection closes, so that
        ``close`` can still give records back."""
        if self._calls is None:
            raise StoreClosedError(
                f"store {self._shown!r} is closed; open it (or start the bridge)"
            )
        return self._calls

    def _connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def _api(
        self, subject: str, body: dict[str, Any] | None, *, missing: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        """One JetStream API request; an error reply raises, unless its code is in ``missing``
        (then the reply is returned for the caller to look at)."""
        what = f"JetStream API {subject}"
        payload = orjson.dumps(body) if body is not None else b""
        [msg] = await self._requests().send([(f"$JS.API.{subject}", payload, None)], what)
        data = _reply_json(msg, what)
        if _error_code(data) not in missing:
            _raise_error(data, what)
        return data

    # -- streams and consumers -------------------------------------------------------------

    async def _bus(self, name: str) -> _Bus:
        """The bus's stream, created if missing (once per store object)."""
        bus = self._buses.get(name)
        if bus is None:
            bus = self._buses[name] = _Bus(name, self.prefix)
        if bus.created is None or _failed(bus.created):
            bus.created = asyncio.ensure_future(self._create_stream(bus))
        await asyncio.shield(bus.created)
        return bus

    async def _create_stream(self, bus: _Bus) -> None:
        options = self._options
        config = {
            "name": bus.stream,
            "subjects": [bus.subject],
            "description": f"eventbridge bus {bus.name}",
            "retention": "limits",
            "storage": options.storage,
            "num_replicas": options.replicas,
            "max_msgs": -1,
            "max_bytes": -1,
            "max_age": 0,
            "discard": "old",
        }
        data = await self._api(f"STREAM.CREATE.{bus.stream}", config, missing=(10058,))
        if _error_code(data) == 10058:  # it exists with other settings: check what matters
            data = await self._api(f"STREAM.INFO.{bus.stream}", None)
            existing = data["config"]
            if (
                bus.subject not in existing.get("subjects", ())
                or existing.get("retention") != "limits"
                or existing.get("max_msgs", -1) not in (-1, 0)
            ):
                raise StoreError(
                    f"bus {bus.name!r}: stream {bus.stream} exists with settings this store "
                    f"cannot use (subjects {existing.get('subjects')}, retention "
                    f"{existing.get('retention')}, max_msgs {existing.get('max_msgs')}); delete "
                    "it or use another prefix"
                )
        bus.observe(data.get("state", {}))

    async def _ensure_consumer(self, reader: _Reader) -> None:
        stream = reader.bus.stream
        config = {
            "durable_name": reader.consumer,
            "description": f"{_GROUP_DESCRIPTION}{reader.group}",
            "ack_policy": "explicit",
            "ack_wait": int((self.ack_timeout or DEFAULT_ACK_TIMEOUT) * 1e9),
            "max_deliver": -1,
            "deliver_policy": "all",
            "replay_policy": "instant",
            "max_ack_pending": -1,
            "max_waiting": MAX_WAITING,
        }
        data = await self._api(
            f"CONSUMER.DURABLE.CREATE.{stream}.{reader.consumer}",
            {"stream_name": stream, "config": config},
            missing=(_STREAM_NOT_FOUND,),
        )
        if _error_code(data) == _STREAM_NOT_FOUND:  # deleted behind our back: create it again
            reader.bus.created = None
            await self._bus(reader.bus.name)
            await self._api(
                f"CONSUMER.DURABLE.CREATE.{stream}.{reader.consumer}",
                {"stream_name": stream, "config": config},
            )
        reader.ready = True

    async def _reader(self, bus_name: str, group: str) -> _Reader:
        """The reader of the bus for the group, subscribed, its consumer created."""
        reader = self._readers.get((bus_name, group))
        if reader is not None and reader.ready and reader.sub is not None:
            return reader
        if reader is None:
            bus = await self._bus(bus_name)
            reader = self._readers.setdefault((bus_name, group), _Reader(bus, group))
        async with reader.setup:
            if reader.sub is None:
                nc = self._client()
                reader.inbox = nc.new_inbox()
                reader.sub = await nc.subscribe(reader.inbox + ".*", cb=reader.on_msg)
            if not reader.ready:
                await self._ensure_consumer(reader)
        return reader

    # -- appends ---------------------------------------------------------------------------

    async def append(
        self, bus: str, bodies: Sequence[bytes], *, block: bool = True
    ) -> list[Position]:
        self._client()
        if not bodies:
            return []
        self._appending += 1
        self._appends_done.clear()
        try:
            state = await self._bus(bus)
            if block and state.estimate >= self._bound(bus):
                await self._wait_for_room(state)
            subject = state.subject
            replies = await self._requests().send(
                [(subject, body, None) for body in bodies], f"append to bus {bus!r}"
            )
        finally:
            self._appending -= 1
            if not self._appending:
                self._appends_done.set()
        positions = []
        loads = orjson.loads
        for msg in replies:
            if not msg.data:  # a status: 503, no stream takes the subject
                state.created = None
                raise StoreError(
                    f"append to bus {bus!r}: no stream takes {subject} (status "
                    f"{msg.headers.get(_STATUS) if msg.headers else None}; was stream "
                    f"{state.stream} deleted?); it is created again on the next append"
                )
            data = loads(msg.data)
            if "error" in data:
                _raise_error(data, f"append to bus {bus!r}")
            positions.append(Position(0, data["seq"]))
        if positions:
            state.last_seq = max(state.last_seq, positions[-1].offset)
        return positions

    def _bound(self, bus: str) -> float:
        """The soft bound of a bus: ``maxlen``, plus its archive where it has a retention."""
        retention = self._retention.get(bus)
        if retention is None:
            return self.maxlen
        return math.inf if retention.max_events is None else self.maxlen + retention.max_events

    async def _wait_for_room(self, bus: _Bus) -> None:
        """Wait while the bus holds ``maxlen`` events and a group reads it."""
        while not self._closed:
            info = await self._api(f"STREAM.INFO.{bus.stream}", None, missing=(_STREAM_NOT_FOUND,))
            state = info.get("state", {})
            bus.observe(state)
            if bus.base_messages < self._bound(bus.name):
                return
            if not state.get("consumer_count"):
                raise StoreError(
                    f"NATS store {self._shown!r}: bus {bus.name!r} holds {bus.base_messages} "
                    "events that no consumer group reads; declare a rule on it, or raise "
                    "maxlen= in the store URL"
                )
            bus.room.clear()
            self._prune_soon(bus)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ROOM_POLL):
                    await bus.room.wait()
        self._client()

    # -- reading ---------------------------------------------------------------------------

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        self._client()
        reader = await self._reader(bus, group)
        loop = asyncio.get_running_loop()
        no_wait = timeout <= 0
        deadline = loop.time() + (REQUEST_TIMEOUT if no_wait else timeout)
        pulled = False
        while True:
            if reader.buffer:
                return reader.take(max_count)
            self._client()
            if not reader.ready or reader.sub is None:
                reader = await self._reader(bus, group)
            if reader.problem is not None:
                logger.warning(
                    "bus %r, group %r: a pull request was refused (%s)", bus, group, reader.problem
                )
                reader.problem = None
                await asyncio.sleep(min(0.5, max(deadline - loop.time(), 0)))
            now = loop.time()
            remaining = deadline - now
            if reader.request and now >= reader.request_until:
                reader.request = 0  # lost (its reply never came): the server has dropped it
            if not reader.request:
                if pulled and (no_wait or remaining < MIN_EXPIRES):
                    return []
                await self._pull(reader, max_count, remaining, no_wait)
                pulled = True
            reader.wake.clear()
            if reader.buffer:
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                async with asyncio.timeout(remaining):
                    await reader.wake.wait()
            except TimeoutError:
                return reader.take(max_count)

    async def _pull(self, reader: _Reader, batch: int, wait: float, no_wait: bool) -> None:
        number = next(reader.requests)
        body: dict[str, Any] = {"batch": max(batch, 1)}
        if no_wait:
            body["no_wait"] = True
            wait = REQUEST_TIMEOUT
        else:
            wait = max(wait, MIN_EXPIRES)
            body["expires"] = int(wait * 1e9)
        reader.request = number
        reader.expected = body["batch"]
        # The server ends the request at ``expires``; past this, its end notice was lost.
        reader.request_until = asyncio.get_running_loop().time() + wait + 1.0
        try:
            await self._client().publish(
                reader.pull_subject, orjson.dumps(body), reply=f"{reader.inbox}.{number}"
            )
        except nats.errors.Error as exc:
            reader.request = 0
            raise StoreError(f"bus {reader.bus.name!r}: a pull request failed: {exc}") from exc

    async def _settle(self, subjects: Sequence[str], verb: bytes, what: str, flush: bool) -> None:
        publish = self._requests().nc.publish
        try:
            for subject in subjects:
                await publish(subject, verb)
        except nats.errors.Error as exc:
            raise StoreError(f"{what} failed: {exc or type(exc).__name__}") from exc
        if flush:
            await self._requests().echo(what)

    def _handles(self, records: Sequence[Record], what: str) -> list[str]:
        handles = [r.handle for r in records]
        if None in handles:
            raise StoreError(f"{what}: a record has no ack handle; only fetched records settle")
        return handles

    async def ack(self, bus: str, group: str, records: Sequence[Record]) -> None:
        if not records:
            return
        self._client()
        what = f"acknowledging {len(records)} records of bus {bus!r}"
        handles = self._handles(records, what)
        await self._settle(handles, b"+ACK", what, flush=True)
        reader = self._readers.get((bus, group))
        if reader is not None:
            reader.handed.difference_update(handles)
        state = self._buses.get(bus)
        if state is None:
            state = self._buses[bus] = _Bus(bus, self.prefix)
        self._prune_soon(state)

    async def extend(self, bus: str, group: str, records: Sequence[Record]) -> None:
        self._client()
        what = f"extending {len(records)} records of bus {bus!r}"
        handles = self._handles(records, what)
        reader = self._readers.get((bus, group))
        if reader is not None:  # what came in and waits for the next fetch counts too
            handles += [msg.reply for msg in reader.buffer]
        if handles:
            await self._settle(handles, b"+WPI", what, flush=False)

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        raise NotImplementedError("the NATS store acknowledges records; it does not commit")

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        return {}

    async def rewind(self, bus: str, group: str) -> None:
        self._client()
        reader = self._readers.get((bus, group))
        if reader is not None:
            subjects = reader.forget()
            if subjects:
                await self._settle(subjects, b"-NAK", f"giving back records of bus {bus!r}", True)

    # -- pruning ---------------------------------------------------------------------------

    def _prune_soon(self, bus: _Bus) -> None:
        """Prune the bus soon: now, or ``prune_interval`` after the last prune."""
        if bus.pruner is not None and not bus.pruner.done():
            bus.prune_again = True
            return
        bus.pruner = asyncio.create_task(
            self._prune_loop(bus), name=f"eventbridge-nats-prune:{bus.stream}"
        )

    async def _prune_loop(self, bus: _Bus) -> None:
        while not self._closed:
            bus.prune_again = False
            wait = bus.prune_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            bus.prune_at = time.monotonic() + self.prune_interval
            try:
                await self._prune(bus)
            except (StoreError, nats.errors.Error) as exc:
                logger.warning("pruning bus %r failed (%s); again later", bus.name, exc)
                return
            if not bus.prune_again:
                return

    async def _consumers(self, stream: str) -> list[dict[str, Any]]:
        consumers: list[dict[str, Any]] = []
        while True:
            data = await self._api(
                f"CONSUMER.LIST.{stream}", {"offset": len(consumers)}, missing=(_STREAM_NOT_FOUND,)
            )
            page = data.get("consumers") or []
            consumers += page
            if not page or len(consumers) >= int(data.get("total", 0)):
                return consumers

    async def _prune(self, bus: _Bus) -> None:
        """Purge the bus below every durable consumer's ack floor and every kept offset.

        The consumers are read first, the keeps after: an entry keeps an event from before
        that event is acknowledged, so a floor that passed the event was read after the
        entry was written, and the keeps read later include it (the mirror is synced first).
        """
        consumers = [
            c for c in await self._consumers(bus.stream) if c["config"].get("durable_name")
        ]
        if not consumers:
            return
        floor = min(int(c["ack_floor"]["stream_seq"]) + 1 for c in consumers)
        for consumer in consumers:
            group = _group_of(consumer)
            if group is None:
                # Whose keeps would hold the bus back is unknown: pruning could drop them.
                logger.warning(
                    "bus %r: consumer %r names no eventbridge group; the bus is not pruned",
                    bus.name,
                    consumer["name"],
                )
                return
            mirror = await self._mirror(group, create=False)
            if mirror is None:
                continue
            await mirror.wait_ready()
            await self._sync(mirror)
            keep = mirror.min_keep(bus.name)
            if keep is not None:
                floor = min(floor, keep)
        retention = self._retention.get(bus.name)
        if retention is not None:
            floor = min(floor, await self._expired_below(bus, retention))
        if floor <= bus.purged_to + 1:
            return
        if self._purge_is_safe():
            data = await self._api(f"STREAM.PURGE.{bus.stream}", {"seq": floor})
            removed = int(data.get("purged", 0))
        else:
            removed = await self._delete_below(bus, floor)
        bus.purged_to = floor - 1
        if removed:
            bus.room.set()

    async def _expired_below(self, bus: _Bus, retention: Retention) -> int:
        """The offset below which the bus's events are past the retention's limits (0: none):
        ``max_events`` back from the last offset; ``max_age`` by the server's time stamps,
        found with a consumer that starts by time (the server seeks it, one request)."""
        below = 0
        if retention.max_events is not None:
            info = await self._api(f"STREAM.INFO.{bus.stream}", None)
            below = int(info["state"]["last_seq"]) - retention.max_events + 1
        age = retention.max_age_seconds
        if age is not None:
            start = datetime.fromtimestamp(time.time() - age, UTC)
            data = await self._api(
                f"CONSUMER.CREATE.{bus.stream}",
                {
                    "stream_name": bus.stream,
                    "config": {
                        "ack_policy": "none",
                        "deliver_policy": "by_start_time",
                        "opt_start_time": start.isoformat().replace("+00:00", "Z"),
                        "inactive_threshold": int(30e9),
                        "mem_storage": True,
                        "num_replicas": 1,
                    },
                },
            )
            _raise_error(data, f"finding the expired events of bus {bus.name!r}")
            with contextlib.suppress(StoreError):
                await self._api(f"CONSUMER.DELETE.{bus.stream}.{data['name']}", None)
            # The consumer starts at the first event appended at that time or later.
            below = max(below, int(data["delivered"]["stream_seq"]) + 1)
        return below

    def _purge_is_safe(self) -> bool:
        """Whether the server keeps the consumers' unacked deliveries across a purge: up to
        nats-server 2.9.14 a purge, even a partial one, forgot every consumer's pending
        deliveries (nats-server#3892), so their redelivery and naks were lost."""
        if self._nc is None:
            return False
        version = repr(getattr(self._nc, "connected_server_version", ""))  # "<… v2.9.15>"
        found = tuple(int(n) for n in re.findall(r"\d+", version)[:3])
        return found >= (2, 9, 15)

    async def _delete_below(self, bus: _Bus, floor: int) -> int:
        """Delete the bus's events below ``floor`` one by one (servers where a purge is not
        safe; deletions leave the consumers' state alone). The deletions are published
        without replies and flushed: the server handles a client's API requests in order,
        before it answers the flush."""
        info = await self._api(f"STREAM.INFO.{bus.stream}", None)
        first = max(int(info["state"]["first_seq"]), bus.purged_to + 1)
        subject = f"$JS.API.STREAM.MSG.DELETE.{bus.stream}"
        publish = self._requests().nc.publish
        what = f"pruning bus {bus.name!r}"
        for start in range(first, floor, DELETE_CHUNK):
            try:
                for seq in range(start, min(start + DELETE_CHUNK, floor)):
                    await publish(subject, b'{"seq":%d,"no_erase":true}' % seq)
            except nats.errors.Error as exc:
                raise StoreError(f"{what} failed: {exc}") from exc
            # One chunk at a time, so that acks and appends do not queue behind all of them.
            await self._requests().echo(what)
        return max(floor - first, 0)

    async def _sync(self, mirror: _Mirror) -> None:
        """Make the mirror show everything written to the bucket before now."""
        [msg] = await self._requests().send(
            [(mirror.subject(_SYNC_KEY), b"", None)], f"delay queue of group {mirror.group!r}"
        )
        data = _reply_json(msg, "syncing the delay queue")
        _raise_error(data, "syncing the delay queue")
        await mirror.wait_applied(int(data["seq"]))

    # -- the delay queue -------------------------------------------------------------------

    async def _ensure_bucket(self, mirror: _Mirror) -> None:
        created = self._buckets.get(mirror.bucket)
        if created is None or _failed(created):
            created = self._buckets[mirror.bucket] = asyncio.ensure_future(
                self._create_bucket(mirror)
            )
        await asyncio.shield(created)

    async def _create_bucket(self, mirror: _Mirror) -> None:
        options = self._options
        config = {
            "name": mirror.stream,
            "subjects": [f"{mirror.prefix}>"],
            "description": f"eventbridge delay queue of group {mirror.group}",
            "max_msgs_per_subject": 1,
            "discard": "new",
            "allow_rollup_hdrs": True,
            "deny_delete": True,
            "allow_direct": True,
            "storage": options.storage,
            "num_replicas": options.replicas,
            "max_age": 0,
            "max_msgs": -1,
            "max_bytes": -1,
        }
        data = await self._api(f"STREAM.CREATE.{mirror.stream}", config, missing=(10058,))
        if _error_code(data) == 10058:
            existing = (await self._api(f"STREAM.INFO.{mirror.stream}", None))["config"]
            if existing.get("max_msgs_per_subject") != 1:
                raise StoreError(
                    f"delay queue of group {mirror.group!r}: bucket {mirror.bucket} exists with "
                    f"history {existing.get('max_msgs_per_subject')}; this store needs history 1"
                )

    async def _mirror(self, group: str, *, create: bool) -> _Mirror | None:
        """The group's mirror, loading; ``None`` when the bucket does not exist and ``create``
        is false."""
        self._client()
        mirror = self._mirrors.get(group)
        if mirror is not None:
            return mirror
        mirror = _Mirror(self, group)
        if not create:
            data = await self._api(
                f"STREAM.INFO.{mirror.stream}", None, missing=(_STREAM_NOT_FOUND,)
            )
            if _error_code(data) == _STREAM_NOT_FOUND:
                return None
        else:
            await self._ensure_bucket(mirror)
        if group in self._mirrors:  # another call got there first
            return self._mirrors[group]
        self._mirrors[group] = mirror
        mirror.restart_soon()
        return mirror

    async def schedule(self, group: str, entries: Sequence[Delayed]) -> None:
        if not entries:
            return
        mirror = await self._mirror(group, create=True)
        assert mirror is not None
        made = []
        for e in entries:
            entry_id = f"{escape_name(e.key)}.{_new_id()}"
            keeps = None if e.keeps is None else (e.keeps[0], e.keeps[2])
            entry = _Entry(e.key, e.due, e.due, e.weight, 0, keeps, bytes(e.body), 0)
            made.append((entry_id, entry))
        what = f"scheduling {len(entries)} entries for group {group!r}"
        replies = await self._requests().send(
            [(mirror.subject(i), entry.encode(), None) for i, entry in made], what
        )
        for (entry_id, entry), msg in zip(made, replies, strict=True):
            data = _reply_json(msg, what)
            _raise_error(data, what)
            entry.revision = int(data["seq"])
            mirror.apply_local(entry_id, entry)

    async def claim(
        self, group: str, key: str, *, now: float, max_count: int, lease: float
    ) -> list[Claimed]:
        mirror = await self._mirror(group, create=False)
        if mirror is None:
            return []
        await mirror.wait_ready()
        what = f"claiming entries of {key!r} for group {group!r}"
        claimed: list[Claimed] = []
        lost: set[str] = set()
        weight = 0
        async with mirror.lock:
            while weight < max_count:
                candidates = mirror.due(key, now, max_count - weight, lost)
                if not candidates:
                    break
                updated = [
                    (
                        entry_id,
                        _Entry(
                            e.key, e.due, now + lease, e.weight, e.claims + 1, e.keeps, e.body, 0
                        ),
                        e,
                    )
                    for entry_id, e in candidates
                ]
                replies = await self._requests().send(
                    [
                        (mirror.subject(i), new.encode(), {_EXPECTED_LAST: str(old.revision)})
                        for i, new, old in updated
                    ],
                    what,
                )
                for (entry_id, new, _), msg in zip(updated, replies, strict=True):
                    data = _reply_json(msg, what)
                    if _error_code(data) == _WRONG_LAST_SEQUENCE:
                        lost.add(entry_id)  # another worker claimed or finished it first
                        continue
                    _raise_error(data, what)
                    new.revision = int(data["seq"])
                    mirror.apply_local(entry_id, new)
                    claimed.append(
                        Claimed(entry_id, key, new.due, new.body, new.claims, new.weight)
                    )
                    weight += new.weight
        return sorted(claimed, key=lambda c: (c.due, c.id))

    async def finish(self, group: str, ids: Sequence[int | str]) -> None:
        if not ids:
            return
        mirror = await self._mirror(group, create=False)
        if mirror is None:
            return
        what = f"finishing {len(ids)} entries of group {group!r}"
        replies = await self._requests().send(
            [(mirror.subject(str(i)), b"", {_KV_OP: "DEL"}) for i in ids], what
        )
        for entry_id, msg in zip(ids, replies, strict=True):
            data = _reply_json(msg, what)
            _raise_error(data, what)
            mirror.remove_local(str(entry_id), int(data["seq"]))

    async def delayed(self, group: str) -> dict[str, DelayStats]:
        mirror = await self._mirror(group, create=False)
        if mirror is None:
            return {}
        await mirror.wait_ready()
        return mirror.stats()

    # -- browsing --------------------------------------------------------------------------

    async def read(self, bus: str, *, after: int, max_count: int) -> list[Record]:
        nc = self._client()
        if max_count <= 0:
            return []
        stream = _Bus(bus, self.prefix).stream
        got: list[Msg] = []
        done = asyncio.Event()
        wanted = [max_count]

        async def on_msg(msg: Msg) -> None:
            if msg.reply:
                got.append(msg)
                if len(got) < wanted[0]:
                    return
            elif msg.headers and msg.headers.get(_STATUS) == "100":
                return
            done.set()

        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox, cb=on_msg)
        consumer = None
        try:
            data = await self._api(
                f"CONSUMER.CREATE.{stream}",
                {
                    "stream_name": stream,
                    "config": {
                        "ack_policy": "none",
                        "deliver_policy": "by_start_sequence",
                        "opt_start_seq": max(after + 1, 1),
                        "replay_policy": "instant",
                        "inactive_threshold": int(30e9),
                        "mem_storage": True,
                        "num_replicas": 1,
                    },
                },
                missing=(_STREAM_NOT_FOUND,),
            )
            if _error_code(data) == _STREAM_NOT_FOUND:
                return []
            consumer = data["name"]
            wanted[0] = min(max_count, int(data.get("num_pending", 0)))
            if not wanted[0]:
                return []
            pull = orjson.dumps({"batch": wanted[0], "no_wait": True})
            await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}", pull, reply=inbox)
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    while len(got) < wanted[0] and not done.is_set():
                        await done.wait()
            except TimeoutError:
                raise StoreError(
                    f"reading bus {bus!r}: NATS sent {len(got)} of {wanted[0]} events within "
                    f"{REQUEST_TIMEOUT:g} s"
                ) from None
        except nats.errors.Error as exc:
            raise StoreError(f"reading bus {bus!r} failed: {exc}") from exc
        finally:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
            if consumer is not None:
                with contextlib.suppress(StoreError):
                    await self._api(f"CONSUMER.DELETE.{stream}.{consumer}", None)
        records = []
        for msg in got[: wanted[0]]:
            _, seq, appended = _delivery(msg.reply)
            records.append(Record(0, seq, msg.data, 1, None, appended))
        return records

    async def delete(self, bus: str, positions: Sequence[Position]) -> int:
        self._client()
        if not positions:
            return 0
        stream = _Bus(bus, self.prefix).stream
        what = f"deleting {len(positions)} events of bus {bus!r}"
        replies = await self._requests().send(
            [
                (
                    f"$JS.API.STREAM.MSG.DELETE.{stream}",
                    orjson.dumps({"seq": p[1], "no_erase": True}),
                    None,
                )
                for p in positions
            ],
            what,
        )
        removed = 0
        for msg in replies:
            data = _reply_json(msg, what)
            code = _error_code(data)
            if code in (_NO_MESSAGE, _STREAM_NOT_FOUND):
                continue
            _raise_error(data, what)
            removed += 1
        known = self._buses.get(bus)
        if removed and known is not None:
            known.room.set()
        return removed

    async def set_retention(self, bus: str, retention: Retention | None) -> None:
        if retention is None:
            self._retention.pop(bus, None)
        else:
            self._retention[bus] = retention

    async def stats(self, bus: str, group: str | None = None) -> BusStats:
        self._client()
        stream = _Bus(bus, self.prefix).stream
        info = await self._api(f"STREAM.INFO.{stream}", None, missing=(_STREAM_NOT_FOUND,))
        if _error_code(info) == _STREAM_NOT_FOUND:
            return BusStats(0, 0, None if group is None else 0)
        state = info["state"]
        last, retained = int(state["last_seq"]), int(state["messages"])
        known = self._buses.get(bus)
        if known is not None:
            known.observe(state)
        if group is None:
            return BusStats(last, retained)
        data = await self._api(
            f"CONSUMER.INFO.{stream}.{escape_name(group)}", None, missing=(_CONSUMER_NOT_FOUND,)
        )
        if _error_code(data) == _CONSUMER_NOT_FOUND:
            return BusStats(last, retained, retained)
        return BusStats(last, retained, int(data["num_pending"]) + int(data["num_ack_pending"]))
