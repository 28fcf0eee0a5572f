"""The low watermark: an offset is committable only when it and all before it are done."""

from __future__ import annotations

import asyncio

from eventbridge_sdk.runtime.offsets import AckTracker, OffsetTracker
from eventbridge_sdk.stores.base import Record


def rec(partition: int, offset: int, deliveries: int = 1) -> Record:
    return Record(partition, offset, b"{}", deliveries)


def test_watermark_waits_for_the_slowest_earlier_event() -> None:
    tracker = OffsetTracker()
    for offset in (1, 2, 3):
        tracker.track(rec(0, offset), 1)
    tracker.done(rec(0, 3))
    tracker.done(rec(0, 2))
    assert tracker.watermarks() == {0: 0}
    tracker.done(rec(0, 1))
    assert tracker.watermarks() == {0: 3}


def test_an_event_fanned_out_to_two_runners_needs_both() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 5), 2)
    tracker.done(rec(0, 5))
    assert tracker.watermarks() == {0: 4}
    tracker.done(rec(0, 5))
    assert tracker.watermarks() == {0: 5}


def test_unmatched_events_pass_at_once_or_behind_pending_ones() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 1), 0)
    assert tracker.watermarks() == {0: 1}
    tracker.track(rec(0, 2), 1)
    tracker.track(rec(0, 3), 0)
    assert tracker.watermarks() == {0: 1}
    tracker.done(rec(0, 2))
    assert tracker.watermarks() == {0: 3}


def test_partitions_are_independent() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 1), 1)
    tracker.track(rec(1, 1), 1)
    tracker.done(rec(1, 1))
    assert tracker.watermarks() == {0: 0, 1: 1}


async def test_wait_passed_wakes_when_the_watermark_reaches_the_offset() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 1), 1)
    tracker.track(rec(0, 2), 1)
    waiter = asyncio.create_task(tracker.wait_passed(0, 2))
    tracker.done(rec(0, 2))
    await asyncio.sleep(0)
    assert not waiter.done()
    tracker.done(rec(0, 1))
    await asyncio.wait_for(waiter, 1)


def test_ack_mode_settles_each_record_when_all_its_runners_are_done() -> None:
    tracker = AckTracker()
    first, second = rec(0, 1), rec(0, 2)
    tracker.track(first, 2)
    tracker.track(second, 1)
    tracker.done(second)
    tracker.done(first)
    assert tracker.take_finished() == [second]
    tracker.done(first)
    assert tracker.take_finished() == [first]
    assert tracker.take_finished() == []


def test_ack_mode_tracks_a_redelivery_of_a_record_still_in_flight() -> None:
    tracker = AckTracker()
    original, again = rec(0, 5, deliveries=1), rec(0, 5, deliveries=2)
    assert tracker.track(original, 1)
    assert tracker.track(again, 1)  # a lapsed claim came back: never dropped as "seen"
    assert tracker.open_events == 2
    tracker.done(again)
    tracker.done(original)
    assert tracker.take_finished() == [again, original]


def test_ack_mode_passes_an_offset_once_read_past_and_nothing_below_is_open() -> None:
    tracker = AckTracker()
    first = rec(0, 1)
    tracker.track(first, 1)
    assert not tracker.passed(0, 2)  # not read yet
    tracker.track(rec(0, 3), 0)
    assert not tracker.passed(0, 2)  # offset 1 still open
    tracker.done(first)
    assert tracker.passed(0, 2)


def test_ack_mode_restores_records_whose_ack_failed() -> None:
    tracker = AckTracker()
    tracker.track(rec(0, 1), 0)
    finished = tracker.take_finished()
    tracker.restore(finished)
    assert tracker.take_finished() == finished


async def test_done_soon_counts_a_turns_deliveries_together_when_the_loop_turns() -> None:
    tracker = OffsetTracker()
    for offset in (1, 2, 3):
        tracker.track(rec(0, offset), 1)
    tracker.done_soon([rec(0, 2)])
    tracker.done_soon([rec(0, 1), rec(0, 3)])
    assert tracker._in_flight == 3  # nothing counted yet: the loop has not turned
    assert not tracker.changed.is_set()
    await asyncio.sleep(0)
    assert tracker._in_flight == 0
    assert tracker.changed.is_set()
    assert tracker.watermarks() == {0: 3}


async def test_reads_of_offsets_and_records_count_what_done_soon_collected_first() -> None:
    reads = {
        "watermarks": lambda t: t.watermarks() == {0: 1},
        "passed": lambda t: t.passed(0, 1),
    }
    for name, read in reads.items():
        tracker = OffsetTracker()
        tracker.track(rec(0, 1), 1)
        tracker.done_soon([rec(0, 1)])
        assert read(tracker), name
    ack = AckTracker()
    record = rec(0, 1)
    ack.track(record, 1)
    ack.done_soon([record])
    assert ack.open_records() == []
    assert ack.take_finished() == [record]
    ack.track(record, 1)
    ack.done_soon([record])
    assert ack.passed(0, 1)


async def test_done_soon_and_done_of_one_fanned_out_record_add_up_in_any_order() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 1), 2)
    tracker.done_soon([rec(0, 1)])
    tracker.done(rec(0, 1))  # the other target settled at once (a retry scheduled, say)
    assert tracker.watermarks() == {0: 1}
    tracker.settle()  # nothing left to count
    assert tracker.in_flight == 0


def test_the_counts_read_from_the_metric_thread_change_nothing() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 1), 1)
    tracker._settling.append(rec(0, 1))  # as done_soon() leaves it until the loop turns
    assert (tracker.in_flight, tracker.open_events) == (1, 1)
    assert tracker._settling == [rec(0, 1)]


async def test_a_room_waiter_wakes_when_the_turns_deliveries_are_counted() -> None:
    tracker = OffsetTracker()
    tracker.track(rec(0, 1), 1)
    waiter = asyncio.create_task(tracker.wait_for_room(1))
    await asyncio.sleep(0)
    assert not waiter.done()
    tracker.done_soon([rec(0, 1)])
    await asyncio.wait_for(waiter, 1)
