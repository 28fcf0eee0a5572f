"""The store SPI: what the push runtime needs from whatever keeps the buses.

A store keeps, per bus, an ordered durable log of encoded events (CloudEvents JSON bytes), read by
consumer groups. Stores come in two delivery shapes, told apart by :attr:`Store.acks`:

- **watermark stores** (``acks = False``: memory, SQLite, Kafka) hand a group its records in
  offset order, one reader per partition; the group commits, per partition, the offset up to which
  it is done (the low watermark), and everything at or below it is never delivered again;
- **ack stores** (``acks = True``: Redis Streams consumer groups, NATS JetStream pull consumers)
  hand records to competing readers, interleaved; each record is acknowledged on its own, and a
  record not acknowledged in time is handed out again (to any reader, with a higher delivery
  count), so a record may come back below offsets already settled.

Every store also keeps a **delay queue** per consumer group: entries for one key (the runtime
uses a runner's ``bus/rule/target`` name) that become due at a wall-clock time, are claimed
atomically with a lease, and are deleted when finished. Retries and a slow target's backlog live
there, not in memory. Claims of a process that died are claimable again once their lease ends.

Finally a store can be **browsed** without a consumer group (dead letters, inspection, the
replay of an archive), and a bus can be given a :class:`~eventbridge_sdk.Retention`: its
consumed events are then kept, up to an age and/or a count, instead of being pruned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from .._retention import Retention

__all__ = ["BusStats", "Claimed", "DelayStats", "Delayed", "Position", "Record", "Store"]


class Position(NamedTuple):
    """Where an appended event sits: its partition and its offset within that partition.

    Offsets grow within a partition; they need not be dense.
    """

    partition: int
    offset: int


class Record(NamedTuple):
    """One event read from a bus: its position, its encoded body, its delivery count and when
    the store appended it."""

    partition: int
    offset: int
    body: bytes
    deliveries: int = 1
    """How many times the store has handed this record to the group: 1 the first time."""
    handle: Any = None
    """What :meth:`Store.ack` and :meth:`Store.extend` need to name the record (ack stores)."""
    appended: float | None = None
    """When the store appended the record (Unix time in seconds, by the store's clock: the
    process's for memory and SQLite, the server's for Redis and NATS); ``None`` when unknown,
    as for events appended before the store recorded the time."""


class Delayed(NamedTuple):
    """An entry to put in the delay queue: for ``key``, due at ``due`` (Unix time, seconds)."""

    key: str
    due: float
    body: bytes
    weight: int = 1
    """How many events the entry stands for (an entry may name a run of a bus's events)."""
    keeps: tuple[str, int, int] | None = None
    """``(bus, partition, offset)``: while the entry exists, the store keeps that partition's
    events from ``offset`` on, whatever the groups committed (the entry names them instead of
    carrying copies)."""


class Claimed(NamedTuple):
    """A delay-queue entry claimed by this store object until it is finished or its lease ends."""

    id: int | str
    key: str
    due: float
    body: bytes
    claims: int
    """How many times the entry has been claimed, this claim included."""
    weight: int = 1


class DelayStats(NamedTuple):
    """The delay queue of one key: events waiting (claimed or not) and when the next is due."""

    size: int
    """The sum of the waiting entries' weights."""
    next_due: float
    """The earliest time an unclaimed entry is due or a claim ends (Unix time, seconds)."""


class BusStats(NamedTuple):
    """A bus as its store sees it."""

    last_offset: int
    """The offset of the newest event appended (0 when none), highest over the partitions."""
    retained: int
    """Events the store still keeps for the bus."""
    pending: int | None = None
    """Events the group asked about has not finished (``None`` when no group was named)."""


@runtime_checkable
class Store(Protocol):
    """The protocol every store fills (embedded SQLite, memory, Redis Streams, NATS JetStream).

    Contract:

    - ``append`` returns only once every event is durable, in the order given. A bounded store
      waits for room when ``block`` is true; with ``block=False`` it accepts the events beyond
      its bound (the runtime appends that way while it delivers: the room it would wait for could
      only come from that delivery finishing).
    - ``fetch`` long-polls: it returns at once when records are waiting for the group and
      otherwise waits for new ones (woken by data, not a timer) up to ``timeout`` seconds, then
      returns an empty list. A watermark store starts at the group's committed offsets the first
      time a group is read through this store object, and advances with each fetch; an ack store
      returns records never delivered to the group, and records whose delivery lapsed.
    - ``commit`` (watermark stores) records, per partition, the highest offset the group is done
      with; commits never move backwards. ``ack`` (ack stores) settles records one by one. A
      store implements the one its ``acks`` names; the other raises ``NotImplementedError``.
    - ``extend`` tells the store that the group still works on these records, so that they are
      not handed to another reader (a no-op where nothing would be).
    - ``rewind`` drops the read cursor so that the next fetch starts again from the committed
      offsets (a restarted listener uses it).
    - ``schedule`` adds entries to the group's delay queue durably; ``claim`` atomically takes
      entries of ``key`` due at ``now`` whose weights add up to ``max_count`` at most, hidden
      from other claims for ``lease`` seconds; ``finish`` deletes claimed entries; ``delayed``
      tells, per key, what waits. An entry that ``keeps`` a bus position holds back the pruning
      of that bus until it is finished.
    - ``read`` returns events of a bus after a position without any group; ``delete`` removes
      events from a bus (dead letters that were replayed or purged); ``stats`` sizes a bus.
    - Records from ``fetch`` and ``read`` carry ``appended``, the time the store appended them
      (``None`` only for events stored before the store recorded it); along a bus, append times
      grow with the offsets (a replay finds a time window by bisecting ``read``).
    - ``set_retention`` sets a bus's retention for this store object (and, where the store
      keeps it on the server, for every process): pruning then removes a consumed event only
      once it is older than ``max_age`` or not among the newest ``max_events``;
      ``Retention()`` keeps consumed events for ever; ``None`` goes back to the store's
      default. Retention never removes what a group has not finished or what a delay-queue
      entry keeps.
    """

    url: str
    acks: bool
    """``False``: the group commits watermarks; ``True``: the group acknowledges each record."""
    ack_timeout: float | None
    """Ack stores: seconds a record handed out may go unacknowledged before the store hands it
    to another reader (a crashed worker's records are taken over after it); :meth:`extend`
    starts it again. ``None`` where records are never handed to another reader."""

    async def open(self) -> None:
        """Connect, create what is missing; raise :class:`StoreError` with the reason if not."""

    async def close(self) -> None:
        """Release connections; appends in flight finish first."""

    async def append(
        self, bus: str, bodies: Sequence[bytes], *, block: bool = True
    ) -> list[Position]:
        """Append encoded events to ``bus``; return their positions once durable."""

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        """Return up to ``max_count`` records for the group, waiting up to ``timeout`` s."""

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        """Record that ``group`` is done with ``bus`` up to these offsets (partition → offset)."""

    async def ack(self, bus: str, group: str, records: Sequence[Record]) -> None:
        """Settle records the group is done with (ack stores)."""

    async def extend(self, bus: str, group: str, records: Sequence[Record]) -> None:
        """Keep records the group still works on from being handed to another reader."""

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        """Return the group's committed offsets (partition → offset); empty when none."""

    async def rewind(self, bus: str, group: str) -> None:
        """Forget the group's read cursor; the next fetch resumes from the committed offsets."""

    async def schedule(self, group: str, entries: Sequence[Delayed]) -> None:
        """Add entries to the group's delay queue; return once they are durable."""

    async def claim(
        self, group: str, key: str, *, now: float, max_count: int, lease: float
    ) -> list[Claimed]:
        """Claim entries of ``key`` due at ``now``, earliest first, while their weights add up
        to less than ``max_count`` (one entry at least, however heavy)."""

    async def finish(self, group: str, ids: Sequence[int | str]) -> None:
        """Delete claimed entries of the group's delay queue."""

    async def delayed(self, group: str) -> dict[str, DelayStats]:
        """What waits in the group's delay queue, per key."""

    async def read(self, bus: str, *, after: int, max_count: int) -> list[Record]:
        """Return up to ``max_count`` events of ``bus`` after offset ``after``, without a group."""

    async def delete(self, bus: str, positions: Sequence[Position]) -> int:
        """Remove events from ``bus``; return how many were there."""

    async def stats(self, bus: str, group: str | None = None) -> BusStats:
        """How far ``bus`` has been appended to, how much is kept, how much ``group`` owes."""

    async def set_retention(self, bus: str, retention: Retention | None) -> None:
        """Keep ``bus``'s consumed events as ``retention`` says (``None``: the default)."""
