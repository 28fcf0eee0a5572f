"""The Redis Streams store on a real server: what the shared contract does not cover.

URL options, the soft bound, trimming, taking over lapsed and orphaned records with their true
delivery counts, handing records over on close, connection loss, deleted pending entries and
cancelled reads. Each test works under a key prefix of its own and deletes its keys at the end.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import services
from redis.asyncio import Redis
from services import fetch_until

from eventbridge_sdk import ConfigurationError, StoreError
from eventbridge_sdk.stores import Store, open_store
from eventbridge_sdk.stores.base import Delayed
from eventbridge_sdk.stores.redis_streams import RedisStore

NOW = 1_700_000_000.0
DEAD = f"{socket.gethostname()}/999999999/dead"
"""A consumer of this host whose process cannot exist (above any pid_max)."""


class Stores:
    """Opens Redis stores on one key prefix and closes them at the end of the test."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.prefix = parse_qs(urlsplit(base_url).query)["prefix"][0]
        self.opened: list[RedisStore] = []

    def url(self, query: str = "") -> str:
        return f"{self.base_url}&{query}" if query else self.base_url

    async def open(self, query: str = "") -> RedisStore:
        store = RedisStore(self.url(query))
        await store.open()
        self.opened.append(store)
        return store

    def bus_key(self, bus: str) -> str:
        return f"{self.prefix}:bus:{bus}"


@pytest.fixture
async def admin() -> AsyncIterator[Redis]:
    """A plain client, to look at and tamper with what the store keeps."""
    services.require("redis")
    client = Redis(host=services.REDIS_HOST, port=int(services.REDIS_PORT), protocol=2)
    yield client
    await client.aclose()


@pytest.fixture
async def stores(admin: Redis) -> AsyncIterator[Stores]:
    opened = Stores(services.redis_url())
    yield opened
    for store in opened.opened:
        await store.close()
    keys = [key async for key in admin.scan_iter(match=f"{opened.prefix}:*", count=1000)]
    if keys:
        await admin.delete(*keys)


async def bodies(store: Store, bus: str) -> list[bytes]:
    return [r.body for r in await store.read(bus, after=0, max_count=1000)]


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> bool:
    """Whether ``condition`` comes true within ``within`` seconds (looked at every 50 ms)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def clients_of(admin: Redis, store: RedisStore) -> list[dict[str, str]]:
    """The server's view of the store's connections (they carry the consumer's name)."""
    name = f"eventbridge:{store.consumer}"
    return [c for c in await admin.client_list() if c["name"].startswith(name)]


async def kill_clients(admin: Redis, clients: list[dict[str, str]]) -> None:
    for client in clients:
        await admin.execute_command("CLIENT", "KILL", "ID", client["id"])


# -- the URL ---------------------------------------------------------------------------------


def test_open_store_builds_a_redis_store_that_fills_the_protocol() -> None:
    store: Store = open_store("redis://localhost:6379/0?prefix=app&ack_timeout=60")
    assert isinstance(store, RedisStore)
    assert isinstance(store, Store)
    assert (store.acks, store.ack_timeout, store.prefix) == (True, 60.0, "app")


def test_an_unknown_option_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) \['colour'\]"):
        RedisStore("redis://localhost:6379/0?colour=red")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("ack_timeout=soon", "ack_timeout"),
        ("ack_timeout=0", "ack_timeout"),
        ("ack_timeout=nan", "ack_timeout"),
        ("maxlen=-1", "maxlen"),
        ("maxlen=1.5", "maxlen"),
        ("maxlen=0", "maxlen"),
        ("prune_interval=-1", "prune_interval"),
        ("prefix=", "prefix"),
    ],
)
def test_a_bad_value_is_named_with_the_url(query: str, named: str) -> None:
    url = f"redis://localhost:6379/0?{query}"
    value = query.partition("=")[2]
    with pytest.raises(ConfigurationError) as caught:
        RedisStore(url)
    message = str(caught.value)
    assert named in message
    assert repr(value) in message
    assert "redis://localhost:6379/0" in message


def test_a_database_must_be_a_number() -> None:
    with pytest.raises(ConfigurationError, match="database 'orders'"):
        RedisStore("redis://localhost:6379/orders")


def test_errors_do_not_show_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisStore("redis://user:s3cret@localhost:6379/0?bogus=1")
    assert "s3cret" not in str(caught.value)
    assert "user:***@" in str(caught.value)


async def test_open_fails_fast_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    store = RedisStore(f"redis://127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot reach the Redis store"):
        await store.open()
    assert time.monotonic() - started < 15


# -- the soft bound ----------------------------------------------------------------------------


async def test_a_full_bus_makes_append_wait_until_a_trim_makes_room(stores: Stores) -> None:
    store = await stores.open("maxlen=5&prune_interval=0")
    assert await store.fetch("orders", "g", max_count=10, timeout=0) == []  # the group reads
    await store.append("orders", [str(n).encode() for n in range(5)])
    waiting = asyncio.create_task(store.append("orders", [b"late"]))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    records = await fetch_until(store, "orders", "g", count=5, within=5)
    await store.ack("orders", "g", records)
    [position] = await asyncio.wait_for(waiting, 10)
    assert await bodies(store, "orders") == [b"late"]
    assert position.offset == 6


async def test_append_without_blocking_goes_beyond_the_bound(stores: Stores) -> None:
    store = await stores.open("maxlen=3")
    await store.fetch("orders", "g", max_count=10, timeout=0)
    await store.append("orders", [b"1", b"2", b"3"])
    await store.append("orders", [b"4", b"5"], block=False)
    assert (await store.stats("orders")).retained == 5


async def test_a_full_bus_nobody_reads_refuses_more_and_keeps_what_it_took(
    stores: Stores,
) -> None:
    store = await stores.open("maxlen=3")
    await store.append("orders", [b"1", b"2", b"3"])
    with pytest.raises(StoreError, match="no consumer group reads it"):
        await store.append("orders", [b"4"])
    assert await bodies(store, "orders") == [b"1", b"2", b"3"]
    # A worker that starts later gets everything published before it.
    records = await fetch_until(store, "orders", "g", count=3, within=5)
    assert [r.body for r in records] == [b"1", b"2", b"3"]


# -- trimming ----------------------------------------------------------------------------------


async def test_trimming_drops_acked_events_and_never_pending_ones(stores: Stores) -> None:
    store = await stores.open("prune_interval=0")
    await store.append("orders", [b"a", b"b", b"c", b"d", b"e"])
    records = await fetch_until(store, "orders", "g", count=5, within=5)
    await store.ack("orders", "g", [records[0], records[1], records[3]])
    assert await bodies(store, "orders") == [b"c", b"d", b"e"]  # c is pending, e too
    await store.ack("orders", "g", [records[2], records[4]])
    assert await bodies(store, "orders") == []


async def test_a_group_that_has_not_read_holds_back_trimming(stores: Stores) -> None:
    store = await stores.open("prune_interval=0")
    await store.fetch("orders", "late", max_count=10, timeout=0)
    await store.append("orders", [b"a", b"b"])
    await store.ack("orders", "g", await fetch_until(store, "orders", "g", count=2, within=5))
    assert await bodies(store, "orders") == [b"a", b"b"]
    await store.ack("orders", "late", await fetch_until(store, "orders", "late", count=2, within=5))
    assert await bodies(store, "orders") == []


async def test_a_delay_queue_entry_keeps_its_events_until_finished(stores: Stores) -> None:
    store = await stores.open("prune_interval=0")
    positions = await store.append("orders", [b"a", b"b", b"c"])
    records = await fetch_until(store, "orders", "g", count=3, within=5)
    await store.schedule("g", [Delayed("orders/r/t", NOW, b"run", 2, ("orders", *positions[1]))])
    await store.ack("orders", "g", records)
    assert await bodies(store, "orders") == [b"b", b"c"]
    [entry] = await store.claim("g", "orders/r/t", now=NOW, max_count=10, lease=60)
    await store.finish("g", [entry.id])
    assert await bodies(store, "orders") == []
    assert await store.delayed("g") == {}


# -- taking over ---------------------------------------------------------------------------------


async def test_lapsed_records_move_between_readers_with_true_delivery_counts(
    stores: Stores, admin: Redis
) -> None:
    one = await stores.open("ack_timeout=0.5")
    two = await stores.open("ack_timeout=0.5")
    await one.append("orders", [b"a", b"b"])
    first = await fetch_until(one, "orders", "g", count=2, within=5)
    assert [(r.body, r.deliveries) for r in first] == [(b"a", 1), (b"b", 1)]
    second = await fetch_until(two, "orders", "g", count=2, within=10)
    assert [(r.body, r.deliveries) for r in second] == [(b"a", 2), (b"b", 2)]
    third = await fetch_until(one, "orders", "g", count=2, within=10)
    assert [(r.body, r.deliveries) for r in third] == [(b"a", 3), (b"b", 3)]
    pending = await admin.xpending_range(stores.bus_key("orders"), "g", "-", "+", 10)
    assert [(p["consumer"].decode(), p["times_delivered"]) for p in pending] == [
        (one.consumer, 3),
        (one.consumer, 3),
    ]
    await one.ack("orders", "g", third)
    assert (await one.stats("orders", "g")).pending == 0


async def test_records_of_a_dead_process_of_this_host_are_taken_over_at_once(
    stores: Stores, admin: Redis
) -> None:
    store = await stores.open("ack_timeout=600")
    key = stores.bus_key("orders")
    await store.append("orders", [b"a", b"b", b"c"])
    await admin.xgroup_create(key, "g", "0")
    await admin.xreadgroup("g", DEAD, {key: ">"}, count=2)  # the dead process held a and b
    records = await fetch_until(store, "orders", "g", count=3, within=5)
    assert sorted((r.body, r.deliveries) for r in records) == [(b"a", 2), (b"b", 2), (b"c", 1)]


async def test_records_of_another_host_wait_for_the_ack_timeout(
    stores: Stores, admin: Redis
) -> None:
    store = await stores.open("ack_timeout=600")
    key = stores.bus_key("orders")
    await store.append("orders", [b"a"])
    await admin.xgroup_create(key, "g", "0")
    await admin.xreadgroup("g", "elsewhere.invalid/1/x", {key: ">"})
    assert await store.fetch("orders", "g", max_count=10, timeout=0.5) == []


async def test_gone_consumers_with_nothing_pending_are_removed(
    stores: Stores, admin: Redis
) -> None:
    store = await stores.open("ack_timeout=0.2")
    key = stores.bus_key("orders")
    await store.append("orders", [b"a"])
    await admin.xgroup_create(key, "g", "0")
    [[_, [(entry_id, _)]]] = await admin.xreadgroup("g", DEAD, {key: ">"})
    await admin.xack(key, "g", entry_id)

    async def removed() -> bool:
        await store.fetch("orders", "g", max_count=10, timeout=0.1)
        names = [c["name"].decode() for c in await admin.xinfo_consumers(key, "g")]
        return DEAD not in names

    assert await eventually(removed)


async def test_close_hands_pending_records_to_other_readers_at_once(stores: Stores) -> None:
    one = await stores.open("ack_timeout=600")
    two = await stores.open("ack_timeout=600")
    await one.append("orders", [b"a", b"b"])
    assert len(await fetch_until(one, "orders", "g", count=2, within=5)) == 2
    await one.close()
    records = await fetch_until(two, "orders", "g", count=2, within=10)
    assert sorted((r.body, r.deliveries) for r in records) == [(b"a", 2), (b"b", 2)]


async def test_rewind_hands_this_reader_s_pending_records_out_again(stores: Stores) -> None:
    store = await stores.open("ack_timeout=600")
    await store.append("orders", [b"a", b"b"])
    assert len(await fetch_until(store, "orders", "g", count=2, within=5)) == 2
    await store.rewind("orders", "g")
    records = await store.fetch("orders", "g", max_count=10, timeout=1)
    assert [(r.body, r.deliveries) for r in records] == [(b"a", 2), (b"b", 2)]
    assert await store.fetch("orders", "g", max_count=10, timeout=0.1) == []


async def test_pending_events_deleted_from_the_bus_are_skipped_and_settled(
    stores: Stores, admin: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    one = await stores.open("ack_timeout=600")
    two = await stores.open("ack_timeout=600")
    positions = await one.append("orders", [b"a", b"b", b"c"])
    assert len(await fetch_until(one, "orders", "g", count=3, within=5)) == 3
    assert await one.delete("orders", [positions[1]]) == 1
    with caplog.at_level(logging.WARNING, logger="eventbridge_sdk"):
        await one.close()  # one held b: the hand-over finds it gone
        records = await fetch_until(two, "orders", "g", count=3, within=3)
    assert [r.body for r in records] == [b"a", b"c"]
    assert f"0-{positions[1].offset}" in caplog.text
    summary = await admin.xpending(stores.bus_key("orders"), "g")
    assert summary["pending"] == 2  # b is no longer pending: it was settled
    await two.ack("orders", "g", records)
    assert (await two.stats("orders", "g")).pending == 0


# -- connections -----------------------------------------------------------------------------


async def test_killed_connections_between_calls_are_replaced(stores: Stores, admin: Redis) -> None:
    store = await stores.open("ack_timeout=600")
    await store.append("orders", [b"a"])
    first = await fetch_until(store, "orders", "g", count=1, within=5)
    killed = await clients_of(admin, store)
    assert killed
    await kill_clients(admin, killed)
    await store.ack("orders", "g", first)
    await store.append("orders", [b"b"])
    second = await fetch_until(store, "orders", "g", count=1, within=10)
    assert [(r.body, r.deliveries) for r in second] == [(b"b", 1)]
    await store.ack("orders", "g", second)
    assert (await store.stats("orders", "g")).pending == 0
    assert not {c["id"] for c in killed} & {c["id"] for c in await clients_of(admin, store)}


async def test_a_blocking_read_whose_connection_is_killed_carries_on(
    stores: Stores, admin: Redis
) -> None:
    store = await stores.open("ack_timeout=600")
    await store.fetch("orders", "g", max_count=10, timeout=0)
    reading = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=20))

    async def blocked() -> bool:
        return any(c["cmd"] == "xreadgroup" for c in await clients_of(admin, store))

    assert await eventually(blocked)
    await kill_clients(
        admin, [c for c in await clients_of(admin, store) if c["cmd"] == "xreadgroup"]
    )
    await store.append("orders", [b"a"])
    records = await asyncio.wait_for(reading, 30)
    records += await fetch_until(store, "orders", "g", count=1 - len(records), within=5)
    assert [r.body for r in records] == [b"a"]


async def test_a_cancelled_read_leaves_the_store_usable(stores: Stores) -> None:
    store = await stores.open("ack_timeout=600")
    await store.fetch("orders", "g", max_count=10, timeout=0)
    for _ in range(3):
        reading = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=20))
        await asyncio.sleep(0.1)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
    await store.append("orders", [b"a"])
    records = await fetch_until(store, "orders", "g", count=1, within=5)
    assert [(r.body, r.deliveries) for r in records] == [(b"a", 1)]


async def test_a_reply_lost_with_a_cancelled_read_is_handed_out_again(
    stores: Stores, admin: Redis
) -> None:
    store = await stores.open("ack_timeout=600")
    key = stores.bus_key("orders")
    await store.append("orders", [b"a"])
    assert len(await fetch_until(store, "orders", "g", count=1, within=5)) == 1
    await store.append("orders", [b"b", b"c"])
    # As if the server had handed b and c to the read cancelled below, its reply never read.
    await admin.xreadgroup("g", store.consumer, {key: ">"})
    reading = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=20))
    await asyncio.sleep(0.1)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    records = await store.fetch("orders", "g", max_count=10, timeout=1)
    # a is still being worked on (it was handed out whole): only the lost ones come back.
    assert [(r.body, r.deliveries) for r in records] == [(b"b", 2), (b"c", 2)]


# -- sizes ----------------------------------------------------------------------------------------


async def test_stats_count_pending_and_undelivered_events_of_a_group(stores: Stores) -> None:
    store = await stores.open("ack_timeout=600")
    positions = await store.append("orders", [b"a", b"b", b"c"])
    records = await store.fetch("orders", "g", max_count=2, timeout=1)
    assert (await store.stats("orders", "g")) == (positions[-1].offset, 3, 3)
    await store.ack("orders", "g", records)
    assert (await store.stats("orders", "g")).pending == 1
    await store.delete("orders", [positions[2]])  # in the unread part: Redis loses the lag
    assert (await store.stats("orders", "g")).pending <= 1
    assert await store.stats("nothing", "g") == (0, 0, 0)


async def test_delay_queue_claims_of_a_dead_local_process_are_released_at_once(
    stores: Stores,
) -> None:
    dead = await stores.open()
    dead.consumer = DEAD
    alive_too = await stores.open()
    alive_too.consumer = "elsewhere/1/other-host"  # another host: its lease is waited out
    await dead.schedule("g", [Delayed("t", NOW, b"retry")])
    await alive_too.schedule("g", [Delayed("u", NOW, b"other")])
    [held] = await dead.claim("g", "t", now=NOW, max_count=10, lease=300)
    [kept] = await alive_too.claim("g", "u", now=NOW, max_count=10, lease=300)
    survivor = await stores.open()
    [again] = await survivor.claim("g", "t", now=NOW + 1, max_count=10, lease=300)
    assert (again.id, again.body, again.claims) == (held.id, b"retry", 2)
    assert await survivor.claim("g", "u", now=NOW + 1, max_count=10, lease=300) == []
    assert kept.claims == 1
    await survivor.finish("g", [again.id])
    assert (await survivor.delayed("g")).keys() == {"u"}
