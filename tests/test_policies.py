"""Retry policies as values: their delays, presets and validation."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from eventbridge_sdk import ConfigurationError, DeadLetter, Drop, Retry, RetryPolicy


def delays(policy: RetryPolicy, retries: int) -> list[float]:
    return [policy.base_delay(n) for n in range(1, retries + 1)]


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        ("fixed", [2, 2, 2, 2, 2]),
        ("linear", [2, 4, 6, 8, 10]),
        ("exponential", [2, 4, 8, 10, 10]),
    ],
)
def test_backoff_sequences_grow_as_named_and_stop_at_max_delay(
    backoff: str, expected: list[float]
) -> None:
    policy = RetryPolicy(backoff=backoff, initial_delay=2, max_delay=10)  # type: ignore[arg-type]
    assert delays(policy, 5) == expected


def test_full_jitter_draws_between_zero_and_the_delay() -> None:
    policy = RetryPolicy(initial_delay=8, max_delay=8, backoff="fixed")
    rng = random.Random(7)
    drawn = [policy.delay(1, rng) for _ in range(2000)]
    assert all(0 <= d <= 8 for d in drawn)
    assert min(drawn) < 0.5  # the whole range is used
    assert max(drawn) > 7.5


def test_partial_jitter_keeps_the_lower_bound() -> None:
    policy = RetryPolicy(initial_delay=20, max_delay=20, backoff="fixed", jitter=0.5)
    rng = random.Random(3)
    drawn = [policy.delay(1, rng) for _ in range(2000)]
    assert all(10 <= d <= 20 for d in drawn)


def test_no_jitter_waits_the_exact_delay() -> None:
    policy = RetryPolicy(initial_delay=3, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [3, 6, 12]


def test_huge_retry_numbers_stay_at_the_cap() -> None:
    assert RetryPolicy(max_delay=60).base_delay(100_000) == 60


def test_rocketmq_backoff_retry_is_three_retries_ten_to_twenty_seconds_apart() -> None:
    policy = RetryPolicy.BACKOFF_RETRY
    assert policy.max_attempts - 1 == 3
    rng = random.Random(1)
    assert all(10 <= policy.delay(n, rng) <= 20 for n in (1, 2, 3) for _ in range(200))


def test_rocketmq_exponential_decay_is_176_retries_doubling_to_512_s_about_a_day() -> None:
    policy = RetryPolicy.EXPONENTIAL_DECAY_RETRY
    assert policy.max_attempts - 1 == 176
    sequence = [policy.delay(n) for n in range(1, 177)]
    assert sequence[:11] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512]
    assert set(sequence[9:]) == {512}
    assert 23 * 3600 < sum(sequence) < 25 * 3600


def test_aws_preset_is_185_retries_or_24_hours() -> None:
    policy = RetryPolicy.AWS
    assert policy.max_attempts == 186
    assert policy.max_event_age == 86_400
    assert (policy.backoff, policy.jitter) == ("exponential", 1.0)


def test_the_default_and_no_retry_presets() -> None:
    assert RetryPolicy() == RetryPolicy.DEFAULT
    assert RetryPolicy.DEFAULT.max_attempts == 10
    assert RetryPolicy.NO_RETRY.max_attempts == 1


def test_timedeltas_are_seconds() -> None:
    policy = RetryPolicy(initial_delay=timedelta(seconds=3), max_event_age=timedelta(hours=1))
    assert (policy.initial_delay, policy.max_event_age) == (3.0, 3600.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts counts every attempt"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"backoff": "quadratic"}, "backoff must be one of"),
        ({"initial_delay": -1}, "initial_delay must not be negative"),
        ({"initial_delay": float("nan")}, "initial_delay must be a number"),
        ({"initial_delay": 10, "max_delay": 5}, "max_delay"),
        ({"jitter": 1.5}, "jitter must be a number from 0"),
        ({"max_event_age": "1h"}, "max_event_age must be a number of seconds"),
    ],
)
def test_bad_policies_are_rejected_with_the_field_named(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


def _guarded(outcome: BaseException) -> str:
    try:
        raise outcome
    except Exception:  # what a handler's own error handling catches
        return "swallowed"


@pytest.mark.parametrize("outcome", [Retry(after=5), DeadLetter("card expired"), Drop()])
def test_control_exceptions_escape_except_exception(outcome: BaseException) -> None:
    with pytest.raises(type(outcome)):
        _guarded(outcome)


def test_retry_after_takes_seconds_or_a_timedelta_and_rejects_negatives() -> None:
    assert Retry(after=timedelta(minutes=1)).after == 60
    assert Retry().after is None
    with pytest.raises(ConfigurationError, match="Retry"):
        Retry(after=-1)
