"""The runtime on a store that acknowledges each record (the shape of Redis Streams and NATS
JetStream): records settle one by one, and a redelivery is delivered again, never dropped."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence

import orjson

from eventbridge_sdk import Event, EventBridge, Settings
from eventbridge_sdk.runtime.delays import encode_backlog, read_backlog
from eventbridge_sdk.stores import MemoryStore
from eventbridge_sdk.stores.base import Record
from eventbridge_sdk.testing import run_bridge


class AckingStore(MemoryStore):
    """A memory store with competing-consumer delivery: records are pending until acked and
    handed out again, with a higher delivery count, once ``ack_wait`` passes without an ack
    (once at most, to keep the tests exact)."""

    acks = True

    def __init__(self, ack_wait: float) -> None:
        super().__init__()
        self.ack_wait = ack_wait
        self.pending: dict[int, tuple[float, Record]] = {}
        self.acked: Counter[int] = Counter()

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        now = asyncio.get_running_loop().time()
        lapsed = [
            r for deadline, r in self.pending.values() if deadline <= now and r.deliveries == 1
        ][:max_count]
        if lapsed:
            again = [r._replace(deliveries=r.deliveries + 1) for r in lapsed]
            for record in again:
                self.pending[record.offset] = (now + self.ack_wait, record)
            return again
        fresh = await super().fetch(bus, group, max_count=max_count, timeout=min(timeout, 0.02))
        now = asyncio.get_running_loop().time()
        out = [r._replace(handle=r.offset) for r in fresh]
        for record in out:
            self.pending[record.offset] = (now + self.ack_wait, record)
        return out

    async def ack(self, bus: str, group: str, records: Sequence[Record]) -> None:
        for record in records:
            self.acked[record.offset] += 1
            self.pending.pop(record.offset, None)

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        raise NotImplementedError("an ack store is never asked to commit")


def order(n: int) -> Event:
    return Event(type="order.created", source="/shop", data={"n": n})


async def test_every_record_is_acknowledged_once_its_targets_are_done() -> None:
    bridge = EventBridge("memory://", settings=Settings(runtime={"poll_timeout": 0.05}))
    got: Counter[int] = Counter()
    rule = bridge.bus("orders").rule("all")

    @rule.target()
    async def one(event: Event) -> None:
        got[event.data["n"]] += 1

    @rule.target()
    async def two(event: Event) -> None: ...

    store = AckingStore(ack_wait=30)
    async with run_bridge(bridge, store=store) as harness:
        positions = await harness.publish("orders", [order(n) for n in range(200)])
        async with asyncio.timeout(5):
            while len(store.acked) < 200:  # noqa: ASYNC110 - acks are sent by the committer
                await asyncio.sleep(0.005)
    assert got == Counter(range(200))
    assert set(store.acked.values()) == {1}
    assert store.pending == {}
    assert len(positions) == 200


async def test_a_record_redelivered_while_in_flight_is_delivered_again() -> None:
    bridge = EventBridge("memory://", settings=Settings(runtime={"poll_timeout": 0.05}))
    calls: list[int] = []
    gate = asyncio.Event()

    @bridge.bus("orders").rule("all").target(concurrency=2)
    async def slow(event: Event) -> None:
        calls.append(event.data["n"])
        await gate.wait()

    store = AckingStore(ack_wait=0.05)
    async with run_bridge(bridge, store=store) as harness:
        await harness.publish("orders", order(1), wait=False)
        async with asyncio.timeout(5):
            while len(calls) < 2:  # noqa: ASYNC110 - waiting for the redelivery
                await asyncio.sleep(0.005)
        gate.set()
        async with asyncio.timeout(5):
            while sum(store.acked.values()) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
    assert calls == [1, 1]  # the lapsed record came back and was not dropped as "seen"
    assert store.acked == Counter({1: 2})


async def test_a_backlog_of_records_handed_out_of_order_reads_every_one_back() -> None:
    store = MemoryStore()
    positions = await store.append("orders", [b"a", b"b", b"c", b"d"])
    records = [
        Record(0, positions[n].offset, body, deliveries)
        for n, body, deliveries in ((2, b"c", 1), (3, b"d", 1), (0, b"a", 2))
    ]
    entry = encode_backlog("orders/all/t", 0.0, records)
    assert entry.keeps == ("orders", 0, positions[0].offset)  # the lowest offset is kept
    await store.schedule("g", [entry])
    [claimed] = await store.claim("g", "orders/all/t", now=0.0, max_count=10, lease=60)
    items = await read_backlog(store, "orders", claimed, orjson.loads(claimed.body))
    assert [(item.record.body, item.attempt) for item in items] == [
        (b"a", 2),
        (b"c", 1),
        (b"d", 1),
    ]
