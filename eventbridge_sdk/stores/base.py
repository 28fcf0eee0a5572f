"""The store SPI: what the push runtime needs from whatever keeps the buses.

A store keeps, per bus, an ordered durable log of encoded events (CloudEvents JSON bytes). Each
consumer group reads the log through a cursor and commits, per partition, the offset up to which
it is done. Embedded stores have one partition per bus; brokers may have more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["DELIVERING", "Position", "Record", "Store"]

DELIVERING: ContextVar[bool] = ContextVar("eventbridge_delivering", default=False)
"""True while the runtime hands an event to a target (a handler publishing a reply, say).

A store that bounds its size must not make such an append wait for room: the room could only
come from that very delivery finishing. It lets the append through instead.
"""


class Position(NamedTuple):
    """Where an appended event sits: its partition and its offset within that partition.

    Offsets grow within a partition; they need not be dense.
    """

    partition: int
    offset: int


class Record(NamedTuple):
    """One event read from a bus: its position and its encoded body."""

    partition: int
    offset: int
    body: bytes


@runtime_checkable
class Store(Protocol):
    """The protocol every store fills (embedded SQLite, memory, Redis Streams, NATS JetStream).

    Contract:

    - ``append`` returns only once every event is durable, in the order given.
    - ``fetch`` long-polls: it returns at once when records are waiting after the group's read
      cursor and otherwise waits for new ones (woken by data, not a timer) up to ``timeout``
      seconds, then returns an empty list. The cursor starts at the group's committed offsets the
      first time a group is read through this store object, and advances with each fetch.
    - ``commit`` records, per partition, the highest offset the group is done with; everything
      at or below it is never delivered to that group again. Commits never move backwards.
    - ``rewind`` drops the read cursor so that the next fetch starts again from the committed
      offsets (a restarted listener uses it).
    """

    url: str

    async def open(self) -> None:
        """Connect, create what is missing; raise :class:`StoreError` with the reason if not."""

    async def close(self) -> None:
        """Release connections; appends in flight finish first."""

    async def append(self, bus: str, bodies: Sequence[bytes]) -> list[Position]:
        """Append encoded events to ``bus``; return their positions once durable."""

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        """Return up to ``max_count`` records after the cursor, waiting up to ``timeout`` s."""

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        """Record that ``group`` is done with ``bus`` up to these offsets (partition → offset)."""

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        """Return the group's committed offsets (partition → offset); empty when none."""

    async def rewind(self, bus: str, group: str) -> None:
        """Forget the group's read cursor; the next fetch resumes from the committed offsets."""
