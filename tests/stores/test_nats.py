"""What only the NATS JetStream store does: URL options, stream names, the soft bound, pruning,
competing readers and redelivery, pull requests outliving a fetch, and surviving a dropped
connection. Runs against the local nats-server (see ``tests/services.py``); every test deletes
the streams and buckets it made.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
import services
from nats.aio.client import Client
from services import fetch_until

from eventbridge_sdk import ConfigurationError, StoreClosedError, StoreError
from eventbridge_sdk.stores import Store, nats_jetstream, open_store
from eventbridge_sdk.stores.base import Delayed
from eventbridge_sdk.stores.nats_jetstream import (
    NatsStore,
    ack_metadata,
    escape_name,
    unescape_name,
)

NOW = 1_700_000_000.0
ODD_NAMES = [
    "orders",
    "orders.eu",
    "orders_eu",
    "orders_2Eeu",
    "with space",
    "ünïcödé/東京",
    "star*",
    "gt>",
    "a/b\\c",
    "-",
    "_",
    "",
]


# -- fixtures and helpers --------------------------------------------------------------------


async def _api(nc: Client, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    payload = orjson.dumps(body) if body is not None else b""
    msg = await nc.request(f"$JS.API.{subject}", payload, timeout=5)
    data: dict[str, Any] = orjson.loads(msg.data)
    return data


async def _delete_streams(prefix: str) -> None:
    nc = Client()
    await nc.connect(f"nats://{services.NATS_HOST}:{services.NATS_PORT}", connect_timeout=2)
    try:
        names: list[str] = []
        while True:
            page = await _api(nc, "STREAM.NAMES", {"offset": len(names)})
            names += page.get("streams") or []
            if not page.get("streams") or len(names) >= page.get("total", 0):
                break
        for name in names:
            if name.startswith((f"{prefix}_", f"KV_{prefix}_")):
                await _api(nc, f"STREAM.DELETE.{name}")
    finally:
        await nc.close()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A fresh stream prefix; its streams and buckets are deleted after the test."""
    services.require("nats")
    name = services.namespace()
    yield name
    await _delete_streams(name)


@pytest.fixture
def make(prefix: str) -> Callable[..., str]:
    """Build a store URL on the test's prefix (through ``address`` when given)."""

    def url(query: str = "", address: str | None = None) -> str:
        where = address or f"{services.NATS_HOST}:{services.NATS_PORT}"
        extra = f"&{query}" if query else ""
        return f"nats://{where}?prefix={prefix}{extra}"

    return url


@pytest.fixture
async def opened() -> AsyncIterator[Callable[[str], Awaitable[NatsStore]]]:
    """Open stores by URL; each is closed after the test."""
    stores: list[NatsStore] = []

    async def open_one(url: str) -> NatsStore:
        store = NatsStore(url)
        await store.open()
        stores.append(store)
        return store

    yield open_one
    for store in stores:
        await store.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Poll ``check`` until it holds, failing after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.1)


async def bodies(store: NatsStore, bus: str) -> list[bytes]:
    return [r.body for r in await store.read(bus, after=0, max_count=1000)]


class Proxy:
    """A TCP proxy between a store and the server, whose connections the test can cut."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again, on the same port after :meth:`stop_listening`)."""
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """Refuse new connections (reconnects fail) until :meth:`start`."""
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            services.NATS_HOST, int(services.NATS_PORT)
        )
        self.writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
        self.writers.discard(sink)

    def cut(self) -> None:
        """Drop every connection at once, as a network failure would."""
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    services.require("nats")
    p = Proxy()
    await p.start()
    yield p
    await p.close()


# -- URL options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("prefix=a_b", "prefix='a_b'"),
        ("prefix=", "prefix=''"),
        ("prefix=a.b", "prefix='a.b'"),
        ("ack_timeout=0", "ack_timeout='0'"),
        ("ack_timeout=soon", "ack_timeout='soon'"),
        ("maxlen=0", "maxlen='0'"),
        ("maxlen=1.5", "maxlen='1.5'"),
        ("prune_interval=-1", "prune_interval='-1'"),
        ("replicas=9", "replicas='9'"),
        ("storage=disk", "storage='disk'"),
        ("colour=blue", "colour"),
    ],
)
def test_a_bad_url_option_is_named_with_its_value_and_the_url(query: str, named: str) -> None:
    url = f"nats://localhost:4222?{query}"
    with pytest.raises(ConfigurationError) as caught:
        NatsStore(url)
    assert named in str(caught.value)
    assert url in str(caught.value)


def test_good_options_are_taken() -> None:
    store = NatsStore(
        "nats://u:p@h1:4222,h2?prefix=shop-1&ack_timeout=2.5&maxlen=10&prune_interval=0"
        "&replicas=3&storage=memory"
    )
    assert (store.prefix, store.ack_timeout, store.maxlen, store.prune_interval) == (
        "shop-1",
        2.5,
        10,
        0.0,
    )
    assert store.acks
    assert isinstance(store, Store)
    assert isinstance(open_store("nats://localhost:4222"), NatsStore)


def test_a_password_never_shows_in_errors() -> None:
    with pytest.raises(ConfigurationError) as caught:
        NatsStore("nats://user:secret@localhost:4222?maxlen=x")
    assert "secret" not in str(caught.value)
    assert "user:***@localhost" in str(caught.value)


@pytest.mark.parametrize("url", ["nats://host:port", "nats://host:70000", "nats://h:1/path"])
def test_a_bad_server_address_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        NatsStore(url)


async def test_open_where_nothing_listens_fails_fast_with_the_reason() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once closed: nothing listens there
    store = NatsStore(f"nats://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot connect to NATS"):
        await store.open()
    assert time.monotonic() - started < 4
    with pytest.raises(StoreClosedError):
        await store.append("orders", [b"a"])


# -- names -----------------------------------------------------------------------------------


def test_escaped_names_round_trip_and_never_collide() -> None:
    tokens = [escape_name(name) for name in ODD_NAMES]
    assert len(set(tokens)) == len(ODD_NAMES)
    for name, token in zip(ODD_NAMES, tokens, strict=True):
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in token), token
        assert unescape_name(token) == name
    assert escape_name("orders.eu") == "orders_2Eeu"
    for foreign in ("weird.name", "_FF", "x_", "a__b"):  # not made by escape_name
        assert unescape_name(foreign) is None


def test_a_long_name_is_shortened_by_a_digest() -> None:
    long_one, long_two = "." * 127, "." * 126 + ","
    assert len(escape_name(long_one)) <= 120
    assert escape_name(long_one) != escape_name(long_two)
    assert unescape_name(escape_name(long_one)) is None


async def test_odd_bus_and_group_names_get_streams_of_their_own(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make())
    for n, name in enumerate(ODD_NAMES):
        await store.append(name, [f"{n}".encode()])
    for n, name in enumerate(ODD_NAMES):
        records = await fetch_until(store, name, name, count=1, within=5)
        assert [r.body for r in records] == [f"{n}".encode()], name
        await store.ack(name, name, records)


# -- the ack subject ---------------------------------------------------------------------------


def test_both_forms_of_the_ack_subject_parse() -> None:
    old = "$JS.ACK.eb_orders.g.2.17.20.1700000000000000000.5"
    new = "$JS.ACK.hub.ACCOUNTHASH.eb_orders.g.3.18.21.1700000000000000001.0.r4nd0m"
    assert ack_metadata(old) == ("eb_orders", "g", 2, 17, 20, 1700000000000000000, 5)
    assert ack_metadata(new) == ("eb_orders", "g", 3, 18, 21, 1700000000000000001, 0)
    for bad in ("_INBOX.x.y", "$JS.ACK.a.b.c", "$JS.NAK.a.b.1.2.3.4.5"):
        with pytest.raises(ValueError, match="not a JetStream ack subject"):
            ack_metadata(bad)


# -- the soft bound --------------------------------------------------------------------------


async def test_a_full_bus_no_group_reads_refuses_appends_and_loses_nothing(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make("maxlen=3"))
    await store.append("orders", [b"1", b"2", b"3"])
    with pytest.raises(StoreError, match="no consumer group reads"):
        await store.append("orders", [b"4"])
    await store.append("orders", [b"5"], block=False)
    records = await fetch_until(store, "orders", "g", count=4, within=5)
    assert [r.body for r in records] == [b"1", b"2", b"3", b"5"]


async def test_a_full_bus_makes_appends_wait_until_a_purge_makes_room(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make("maxlen=3&prune_interval=0&ack_timeout=30"))
    await store.append("orders", [b"1", b"2", b"3"])
    records = await fetch_until(store, "orders", "g", count=3, within=5)
    waiting = asyncio.create_task(store.append("orders", [b"4"]))
    await asyncio.sleep(1.0)
    assert not waiting.done()
    assert len(await store.append("orders", [b"beyond"], block=False)) == 1
    await store.ack("orders", "g", records)
    [position] = await asyncio.wait_for(waiting, 15)
    assert [r.body for r in await store.read("orders", after=0, max_count=10)][-1] == b"4"
    assert position.offset == 5


# -- pruning ---------------------------------------------------------------------------------


async def test_pruning_keeps_unacked_and_kept_events_and_drops_acked_ones(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    url = make("prune_interval=0&ack_timeout=1")
    store = await opened(url)
    positions = await store.append("orders", [b"1", b"2", b"3", b"4", b"5", b"6"])
    records = await fetch_until(store, "orders", "g", count=6, within=5)
    kept_from = ("orders", *positions[1])
    await store.schedule("g", [Delayed("orders/r/t", NOW, b"run", 1, kept_from)])
    by_body = {r.body: r for r in records}
    await store.ack("orders", "g", [by_body[b] for b in (b"1", b"2", b"3", b"5")])

    async def only(expected: list[bytes]) -> bool:
        return await bodies(store, "orders") == expected

    await eventually(lambda: only([b"2", b"3", b"4", b"5", b"6"]))  # 2 and 3: kept
    # The unacked events still come back to another reader, as unacked events do.
    other = await opened(url)
    again = await fetch_until(other, "orders", "g", count=2, within=10)
    assert sorted((r.body, r.deliveries) for r in again) == [(b"4", 2), (b"6", 2)]
    [entry] = await store.claim("g", "orders/r/t", now=NOW, max_count=10, lease=60)
    await store.finish("g", [entry.id])
    await other.ack("orders", "g", again[:1])
    await eventually(lambda: only([b"6"] if again[0].body == b"4" else [b"4", b"5", b"6"]))
    await other.ack("orders", "g", again[1:])
    await eventually(lambda: only([]))


async def test_a_group_with_a_name_too_long_for_a_consumer_name_still_holds_pruning_back(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    group = "billing.invoices.eu-west.workers." * 4  # escaped, shortened with a digest
    store = await opened(make("prune_interval=0&ack_timeout=5"))
    positions = await store.append("orders", [b"1", b"2", b"3"])
    records = await fetch_until(store, "orders", group, count=3, within=5)
    await store.schedule(group, [Delayed("orders/r/t", NOW, b"run", 1, ("orders", *positions[1]))])
    await store.ack("orders", group, records)
    await eventually(lambda: _bodies_are(store, [b"2", b"3"]))
    await asyncio.sleep(0.5)
    assert await bodies(store, "orders") == [b"2", b"3"]  # kept for the entry


async def _bodies_are(store: NatsStore, expected: list[bytes]) -> bool:
    return await bodies(store, "orders") == expected


async def test_a_bus_no_group_reads_is_never_pruned(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make("prune_interval=0"))
    await store.append("dlq", [b"a", b"b"])
    await store.append("orders", [b"x"])
    await store.ack("orders", "g", await fetch_until(store, "orders", "g", count=1, within=5))
    await asyncio.sleep(0.5)
    assert await bodies(store, "dlq") == [b"a", b"b"]


# -- competing readers -----------------------------------------------------------------------


async def test_an_unacked_record_goes_to_another_reader_with_a_second_delivery(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    url = make("ack_timeout=1")
    first, second = await opened(url), await opened(url)
    await first.append("orders", [b"a"])
    [record] = await fetch_until(first, "orders", "g", count=1, within=5)
    assert record.deliveries == 1
    again = await fetch_until(second, "orders", "g", count=1, within=10)
    assert [(r.body, r.deliveries, r.offset) for r in again] == [(b"a", 2, record.offset)]


async def test_close_gives_unacked_records_back_at_once(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    url = make("ack_timeout=60")
    first = NatsStore(url)
    await first.open()
    await first.append("orders", [b"a", b"b", b"c"])
    taken = await fetch_until(first, "orders", "g", count=2, within=5)
    assert len(taken) == 2
    await first.close()
    other = await opened(url)
    records = await fetch_until(other, "orders", "g", count=3, within=5)  # not after 60 s
    assert sorted(r.body for r in records) == [b"a", b"b", b"c"]
    assert sorted(r.deliveries for r in records) == [1, 2, 2]


async def test_rewind_gives_handed_out_records_back(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make("ack_timeout=60"))
    await store.append("orders", [b"a"])
    assert len(await fetch_until(store, "orders", "g", count=1, within=5)) == 1
    await store.rewind("orders", "g")
    again = await fetch_until(store, "orders", "g", count=1, within=5)
    assert [(r.body, r.deliveries) for r in again] == [(b"a", 2)]


async def test_what_arrives_after_a_fetch_returned_comes_with_the_next_fetch(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make("ack_timeout=60"))
    first = asyncio.create_task(store.fetch("orders", "g", max_count=100, timeout=5))
    await asyncio.sleep(0.3)  # the pull request (up to 100 events, for 5 s) is out
    await store.append("orders", [b"1"])
    assert [r.body for r in await asyncio.wait_for(first, 5)] == [b"1"]
    # Its pull request is still out: these go to it, after the fetch returned.
    await store.append("orders", [f"{n}".encode() for n in range(2, 12)])
    records = await fetch_until(store, "orders", "g", count=10, within=5)
    assert [(r.body, r.deliveries) for r in records] == [(f"{n}".encode(), 1) for n in range(2, 12)]
    assert (await store.stats("orders", "g")).pending == 11  # handed out, none lost


async def test_a_cancelled_fetch_leaves_the_store_usable(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make())
    waiting = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=30))
    await asyncio.sleep(0.3)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await store.append("orders", [b"after"])
    records = await fetch_until(store, "orders", "g", count=1, within=5)
    assert [r.body for r in records] == [b"after"]
    await store.ack("orders", "g", records)


async def test_a_consumer_deleted_behind_the_store_s_back_is_created_again(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]], prefix: str
) -> None:
    store = await opened(make())
    waiting = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=2))
    await asyncio.sleep(0.3)  # a pull request waits on the consumer
    nc = Client()
    await nc.connect(f"nats://{services.NATS_HOST}:{services.NATS_PORT}")
    try:
        assert (await _api(nc, f"CONSUMER.DELETE.{prefix}_orders.g")).get("success")
    finally:
        await nc.close()
    assert await asyncio.wait_for(waiting, 10) == []
    await store.append("orders", [b"a"])
    records = await fetch_until(store, "orders", "g", count=1, within=10)
    assert [r.body for r in records] == [b"a"]


async def test_stats_count_what_the_group_has_not_acked(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    store = await opened(make("ack_timeout=60"))
    assert await store.stats("nothing", "g") == (0, 0, 0)
    await store.append("orders", [b"a", b"b", b"c"])
    records = await fetch_until(store, "orders", "g", count=2, within=5)
    assert (await store.stats("orders", "g")).pending == 3
    await store.ack("orders", "g", records)
    assert (await store.stats("orders", "g")).pending == 1


# -- the delay queue -------------------------------------------------------------------------


async def test_a_second_store_object_sees_the_delay_queue_and_claims_never_overlap(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]]
) -> None:
    url = make()
    one, two = await opened(url), await opened(url)
    await one.schedule("g", [Delayed("t", NOW, f"{n}".encode()) for n in range(50)])

    async def seen_by_two() -> bool:
        return (await two.delayed("g")).get("t", (0, 0))[0] == 50

    await eventually(seen_by_two)
    batches = await asyncio.gather(
        *(s.claim("g", "t", now=NOW, max_count=10, lease=60) for s in (one, two) * 5)
    )
    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids))
    rest = await one.claim("g", "t", now=NOW, max_count=100, lease=60)
    assert len(ids) + len(rest) == 50
    await two.finish("g", [c.id for batch in batches for c in batch])

    async def left_for_one() -> bool:
        return (await one.delayed("g")).get("t", (0, 0))[0] == len(rest)

    await eventually(left_for_one)


async def test_delete_markers_of_finished_entries_are_purged_later(
    make: Callable[..., str],
    opened: Callable[[str], Awaitable[NatsStore]],
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nats_jetstream, "TOMBSTONE_AGE", 0.0)
    monkeypatch.setattr(nats_jetstream, "WATCH_HEARTBEAT", 0.2)
    store = await opened(make())
    await store.schedule("g", [Delayed("t", NOW, b"x"), Delayed("t", NOW, b"y")])
    claimed = await store.claim("g", "t", now=NOW, max_count=10, lease=60)
    await store.finish("g", [c.id for c in claimed])
    nc = Client()
    await nc.connect(f"nats://{services.NATS_HOST}:{services.NATS_PORT}")

    async def only_the_sync_key_is_left() -> bool:
        info = await _api(nc, f"STREAM.INFO.KV_{prefix}_DQ_g", {"subjects_filter": ">"})
        return set(info["state"].get("subjects") or {}) <= {f"$KV.{prefix}_DQ_g._sync"}

    try:
        await eventually(only_the_sync_key_is_left)
    finally:
        await nc.close()
    assert await store.delayed("g") == {}


# -- a dropped connection --------------------------------------------------------------------


async def test_a_dropped_connection_loses_nothing_and_leaves_nothing_stuck(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]], proxy: Proxy
) -> None:
    store = await opened(make("ack_timeout=2", address=proxy.address))
    direct = await opened(make("ack_timeout=2"))
    await store.append("orders", [b"before"])
    got = await fetch_until(store, "orders", "g", count=1, within=5)
    await store.ack("orders", "g", got)

    # Mid-fetch: the connection drops while a long poll waits.
    waiting = asyncio.create_task(fetch_until(store, "orders", "g", count=1, within=20))
    await asyncio.sleep(0.5)
    proxy.cut()
    await direct.append("orders", [b"during"])
    during = await asyncio.wait_for(waiting, 25)
    assert [r.body for r in during] == [b"during"]
    await store.ack("orders", "g", during)

    # Between operations: appends, fetches and acks work once it is back.
    proxy.cut()
    appended = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while appended < 5 and loop.time() < deadline:
        try:
            await store.append("orders", [f"after-{appended}".encode()])
            appended += 1
        except StoreError:
            await asyncio.sleep(0.2)  # the outcome was unknown; at-least-once allows again
    assert appended == 5
    seen: set[bytes] = set()
    while len(seen) < 5 and loop.time() < deadline:
        records = await store.fetch("orders", "g", max_count=10, timeout=0.5)
        seen |= {r.body for r in records}
        with contextlib.suppress(StoreError):
            await store.ack("orders", "g", records)
    assert {f"after-{n}".encode() for n in range(5)} <= seen

    async def settled() -> bool:
        return (await direct.stats("orders", "g")).pending == 0

    await eventually(settled, within=20)  # an ack lost in the drop comes back and is acked


async def test_the_delay_queue_mirror_reloads_after_a_dropped_connection(
    make: Callable[..., str], opened: Callable[[str], Awaitable[NatsStore]], proxy: Proxy
) -> None:
    store = await opened(make(address=proxy.address))
    direct = await opened(make())
    await store.schedule("g", [Delayed("t", NOW, b"first")])
    await proxy.stop_listening()
    proxy.cut()
    await direct.schedule("g", [Delayed("t", NOW, b"while-away")])
    [claimed] = await direct.claim("g", "t", now=NOW, max_count=1, lease=600)
    await direct.finish("g", [claimed.id])  # "first" is gone while the store is away
    await asyncio.sleep(1.0)
    await proxy.start()

    async def caught_up() -> bool:
        try:
            claims = await store.claim("g", "t", now=NOW, max_count=10, lease=600)
        except StoreError:
            return False
        if claims:
            assert [c.body for c in claims] == [b"while-away"]
        return bool(claims)

    await eventually(caught_up, within=30)
