"""The low watermark: an offset is committable only when it and all before it are done."""

from __future__ import annotations

import asyncio

from eventbridge_sdk.runtime.offsets import OffsetTracker


def test_watermark_waits_for_the_slowest_earlier_event() -> None:
    tracker = OffsetTracker()
    for offset in (1, 2, 3):
        tracker.track(0, offset, 1)
    tracker.done(0, 3)
    tracker.done(0, 2)
    assert tracker.watermarks() == {0: 0}
    tracker.done(0, 1)
    assert tracker.watermarks() == {0: 3}


def test_an_event_fanned_out_to_two_runners_needs_both() -> None:
    tracker = OffsetTracker()
    tracker.track(0, 5, 2)
    tracker.done(0, 5)
    assert tracker.watermarks() == {0: 4}
    tracker.done(0, 5)
    assert tracker.watermarks() == {0: 5}


def test_unmatched_events_pass_at_once_or_behind_pending_ones() -> None:
    tracker = OffsetTracker()
    tracker.track(0, 1, 0)
    assert tracker.watermarks() == {0: 1}
    tracker.track(0, 2, 1)
    tracker.track(0, 3, 0)
    assert tracker.watermarks() == {0: 1}
    tracker.done(0, 2)
    assert tracker.watermarks() == {0: 3}


def test_partitions_are_independent() -> None:
    tracker = OffsetTracker()
    tracker.track(0, 1, 1)
    tracker.track(1, 1, 1)
    tracker.done(1, 1)
    assert tracker.watermarks() == {0: 0, 1: 1}


async def test_wait_passed_wakes_when_the_watermark_reaches_the_offset() -> None:
    tracker = OffsetTracker()
    tracker.track(0, 1, 1)
    tracker.track(0, 2, 1)
    waiter = asyncio.create_task(tracker.wait_passed(0, 2))
    tracker.done(0, 2)
    await asyncio.sleep(0)
    assert not waiter.done()
    tracker.done(0, 1)
    await asyncio.wait_for(waiter, 1)
