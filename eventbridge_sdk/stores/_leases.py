"""Consumer-group leases for the SQLite store: one reader per bus and group at a time.

Several processes may share one SQLite file (``uvicorn --workers 4`` on the default store). Each
bus and group is read by the process that holds its lease; the others stand by. A holder renews
its lease while it reads and commits; a lease not renewed for ``ttl`` seconds (the holder
hangs, or runs on another host that went away) may be taken by another process, which resumes
from the committed offsets. A holder on this host whose process is gone (killed) is taken over
at once.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
import uuid

__all__ = ["LEASE_SCHEMA", "Leases", "alive"]

logger = logging.getLogger("eventbridge_sdk")

LEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS eb_leases (
    bus TEXT NOT NULL,
    grp TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (bus, grp)
) WITHOUT ROWID;
"""


def alive(owner: str) -> bool:
    """Whether a lease's owner may still be running: a process of this host that is gone
    cannot renew, so its lease need not be waited out (a restart after a kill resumes at once).
    """
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Leases:
    """The leases one store object holds, renewed well before they lapse.

    ``acquire`` runs on the store's writer connection and thread.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.owner = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._held: dict[tuple[str, str], float] = {}  # key -> when we must renew (monotonic)

    def fresh(self, bus: str, group: str) -> bool:
        """Whether the lease is held and far from lapsing: no database work needed."""
        renew_at = self._held.get((bus, group))
        return renew_at is not None and time.monotonic() < renew_at

    def acquire(self, conn: sqlite3.Connection, bus: str, group: str) -> tuple[bool, bool]:
        """Take or renew the lease; return (held, newly_taken)."""
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT owner, expires FROM eb_leases WHERE bus = ? AND grp = ?", (bus, group)
            ).fetchone()
            if row is not None and row[0] != self.owner and row[1] > now and alive(row[0]):
                conn.execute("COMMIT")
                if self._held.pop((bus, group), None) is not None:
                    logger.warning(
                        "bus %r, group %r: the lease passed to %s; this process stands by",
                        bus,
                        group,
                        row[0],
                    )
                return False, False
            conn.execute(
                "INSERT INTO eb_leases (bus, grp, owner, expires) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (bus, grp) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires",
                (bus, group, self.owner, now + self.ttl),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        newly = (bus, group) not in self._held
        if newly and row is not None and row[0] != self.owner:
            logger.info("bus %r, group %r: took the lease over from %s", bus, group, row[0])
        self._held[(bus, group)] = time.monotonic() + self.ttl / 3
        return True, newly

    def held(self) -> list[tuple[str, str]]:
        """The (bus, group) pairs this store object holds."""
        return list(self._held)

    def release_all(self, conn: sqlite3.Connection) -> None:
        """Give up every lease this store object holds (on close)."""
        if self._held:
            conn.execute("DELETE FROM eb_leases WHERE owner = ?", (self.owner,))
        self._held.clear()
