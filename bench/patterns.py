"""Event-pattern matching throughput: one core, already-parsed CloudEvents.

Usage::

    .venv/bin/python bench/patterns.py            # 3 rounds of 0.5 s, the best of each figure
    .venv/bin/python bench/patterns.py --rounds 5 --seconds 1.0

Prints events/s and µs/event of ``RuleIndex.match``, cycling through 2,000 events parsed
beforehand (so that each event's fields come from memory rather than the CPU's caches), for 1
simple exact rule; 1 rule that reads every field the mixed rules below read; 1,000 rules each
on its own ``type`` value and 1,000 rules each on its own ``data`` field (with 1 such rule for
comparison); for each kind, 1 rule that events rarely reach past its first field, 1 rule of
the same shape that every event matches (each of its fields is looked at), and 1,000 rules;
then 5 (one of each kind), 100, 1,000 and 10,000 rules (a mix of exact, prefix, numeric and
anything-but rules selecting on ``type``, ``source`` and ``data`` fields); for comparison,
scanning 1,000 rules one ``Pattern.matches`` at a time; the ratios the target speaks of; the
compile time of 10,000 rules and the first match after adding them (when the index generates
its matchers).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from eventbridge_sdk.patterns import Pattern, RuleIndex, compile_pattern

SERVICES = [f"svc{i:02d}" for i in range(20)]
ENTITIES = ["order", "payment", "invoice", "shipment", "customer", "cart", "refund", "stock"]
ACTIONS = ["created", "updated", "deleted", "approved", "failed"]
TIERS = ["basic", "silver", "gold", "platinum"]
COUNTRIES = ["DE", "FR", "US", "GB", "JP", "BR", "IN", "ES", "IT", "NL"]
CHANNELS = ["web", "app", "store", "partner"]


def make_event(rng: random.Random) -> dict[str, Any]:
    service = rng.choice(SERVICES)
    entity = rng.choice(ENTITIES)
    items = [
        {
            "sku": f"SKU-{rng.randrange(10_000):05d}",
            "qty": rng.randrange(1, 5),
            "price": round(rng.uniform(1, 200), 2),
        }
        for _ in range(rng.randrange(1, 5))
    ]
    event = {
        "specversion": "1.0",
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "source": f"com.example.{service}",
        "type": f"com.example.{service}.{entity}.{rng.choice(ACTIONS)}",
        "subject": f"{entity}s/{rng.randrange(1_000_000)}",
        "time": f"2026-11-28T10:{rng.randrange(60):02d}:{rng.randrange(60):02d}.123Z",
        "datacontenttype": "application/json",
        "traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01",
        "data": {
            "id": rng.randrange(10**9),
            "amount": round(rng.uniform(0, 1000), 2),
            "currency": rng.choice(["EUR", "USD", "GBP"]),
            "channel": rng.choice(CHANNELS),
            "customer": {
                "id": f"c-{rng.randrange(100_000)}",
                "tier": rng.choice(TIERS),
                "country": rng.choice(COUNTRIES),
            },
            "items": items,
        },
    }
    # Round-trip through JSON text: the runtime matches the dict orjson just decoded.
    return orjson.loads(orjson.dumps(event))  # type: ignore[no-any-return]


def make_rule(rng: random.Random, kind: str) -> dict[str, Any]:
    service = rng.choice(SERVICES)
    entity = rng.choice(ENTITIES)
    type_ = f"com.example.{service}.{entity}.{rng.choice(ACTIONS)}"
    if kind == "exact":
        return {"source": [f"com.example.{service}"], "type": [type_]}
    if kind == "prefix":
        return {
            "source": [f"com.example.{service}"],
            "type": [{"prefix": f"com.example.{service}.{entity}."}],
            "data": {"channel": [rng.choice(CHANNELS)]},
        }
    if kind == "numeric":
        low = rng.randrange(0, 900)
        return {
            "type": [type_],
            "data": {"amount": [{"numeric": [">=", low, "<", low + rng.randrange(10, 100)]}]},
        }
    if kind == "anything-but":
        return {
            "type": [type_],
            "data": {"customer": {"tier": [{"anything-but": ["basic", rng.choice(TIERS)]}]}},
        }
    # selected on nested data values and the source only
    return {
        "source": [f"com.example.{service}"],
        "data": {"customer": {"country": [rng.choice(COUNTRIES)], "tier": [rng.choice(TIERS)]}},
    }


KINDS = ["exact", "prefix", "numeric", "anything-but", "data"]
ALL_SOURCES = [f"com.example.{service}" for service in SERVICES]
ALL_TYPES = [f"{source}.{e}.{a}" for source in ALL_SOURCES for e in ENTITIES for a in ACTIONS]


def make_full_rule(kind: str) -> dict[str, Any]:
    """A rule shaped like ``make_rule(rng, kind)`` (same fields, same operators) that every
    event matches, so that matching looks at each of its fields."""
    if kind == "exact":
        return {"source": ALL_SOURCES, "type": ALL_TYPES}
    if kind == "prefix":
        return {
            "source": ALL_SOURCES,
            "type": [{"prefix": "com.example."}],
            "data": {"channel": CHANNELS},
        }
    if kind == "numeric":
        return {"type": ALL_TYPES, "data": {"amount": [{"numeric": [">=", 0, "<", 1001]}]}}
    if kind == "anything-but":
        return {"type": ALL_TYPES, "data": {"customer": {"tier": [{"anything-but": ["none"]}]}}}
    return {"source": ALL_SOURCES, "data": {"customer": {"country": COUNTRIES, "tier": TIERS}}}


#: One rule that reads each field the rules of ``make_rule`` read, and that every event matches.
EVERY_FIELD: dict[str, Any] = {
    "source": [{"exists": True}],
    "type": [{"exists": True}],
    "data": {
        "amount": [{"exists": True}],
        "channel": [{"exists": True}],
        "customer": {"country": [{"exists": True}], "tier": [{"exists": True}]},
    },
}


def make_rules(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_rule(rng, KINDS[i % len(KINDS)]) for i in range(count)]


#: 1,000 rules, each on a ``type`` value of its own (most of them values events have).
OWN_TYPES: list[dict[str, Any]] = [
    {"type": [t]} for t in [*ALL_TYPES, *(f"com.example.other.{i}" for i in range(200))]
]
#: 1,000 rules, each on a ``data`` field of its own, and 1 such rule.
OWN_FIELDS: list[dict[str, Any]] = [
    {"data": {f"field{i}": [{"exists": True}]}} for i in range(1_000)
]


def build_index(patterns: list[dict[str, Any]]) -> RuleIndex[int]:
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in enumerate(patterns):
        idx.add(key, compile_pattern(pattern))
    return idx


def throughput(match: Callable[[Any], list[Any]], events: list[Any], seconds: float) -> float:
    """Events per second of ``match`` over ``events``, run for about ``seconds``."""
    done = 0
    gc.disable()
    try:
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for event in events:
                match(event)
            done += len(events)
            now = time.perf_counter()
            if now >= deadline:
                return done / (now - start)
    finally:
        gc.enable()


def scan(patterns: list[Pattern]) -> Callable[[Any], list[int]]:
    return lambda event: [i for i, p in enumerate(patterns) if p.matches(event)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()

    rng = random.Random(7)
    events = [make_event(rng) for _ in range(2000)]
    sizes = sorted(len(orjson.dumps(event)) for event in events)
    print(
        f"{len(events)} events, {sizes[0]}-{sizes[-1]} bytes (median {sizes[len(sizes) // 2]}), "
        f"{args.rounds} rounds of {args.seconds:.1f} s"
    )

    cases: list[tuple[str, list[dict[str, Any]]]] = [
        ("1 rule, exact type", [{"type": [events[0]["type"]]}]),
        ("1 rule on specversion, always matches", [{"specversion": ["1.0"]}]),
        ("1 rule reading every field the mix reads", [EVERY_FIELD]),
        ("1,000 rules, each its own type value", OWN_TYPES),
        ("1 rule on a data field", OWN_FIELDS[:1]),
        ("1,000 rules, each its own data field", OWN_FIELDS),
    ]
    for kind in KINDS:
        cases.append((f"1 rule, {kind}", [make_rule(random.Random(1), kind)]))
        cases.append((f"1 rule, {kind}, always matches", [make_full_rule(kind)]))
        rng_kind = random.Random(1_000)
        cases.append((f"1,000 rules, {kind}", [make_rule(rng_kind, kind) for _ in range(1_000)]))
    for count in (5, 100, 1_000, 10_000):
        cases.append((f"{count:,} rules, mixed", make_rules(count, seed=count)))

    print(f"{'case':40} {'hits/ev':>8} {'best ev/s':>12} {'µs/ev':>8}")
    # Every round measures every case once, so that a slow spell of a shared machine costs
    # one round of each case rather than every round of a few; the best round counts.
    indexes = {name: build_index(patterns) for name, patterns in cases}
    best_rate: dict[str, float] = dict.fromkeys(indexes, 0.0)
    for _ in range(args.rounds):
        for name, idx in indexes.items():
            best_rate[name] = max(best_rate[name], throughput(idx.match, events, args.seconds))
    cost: dict[str, float] = {}
    for name, _patterns in cases:
        best = best_rate[name]
        cost[name] = 1e6 / best
        print(f"{name:40} {_hit_rate(indexes[name], events):8.2f} {best:12,.0f} {1e6 / best:8.2f}")
    del indexes
    compiled = [compile_pattern(p) for p in make_rules(1_000, seed=1_000)]
    best = max(throughput(scan(compiled), events, args.seconds) for _ in range(args.rounds))
    print(f"{'1,000 rules, Pattern.matches one by one':40} {'':8} {best:12,.0f} {1e6 / best:8.2f}")

    print("\nratios of µs/event (the target: 1,000 rules no worse than 3x one rule)")
    one = cost["1 rule, exact type"]
    mixed = cost["1,000 rules, mixed"]
    fields = cost["1 rule reading every field the mix reads"]
    per_kind = ", ".join(
        f"{kind} {cost[f'1,000 rules, {kind}'] / cost[f'1 rule, {kind}, always matches']:.1f}x"
        for kind in KINDS
    )
    print(
        f"  1,000 mixed / 1 exact type rule {mixed / one:.1f}x; "
        f"/ 1 rule reading the same fields {mixed / fields:.1f}x; "
        f"1,000 own type values / 1 type rule {cost['1,000 rules, each its own type value'] / one:.1f}x; "
        f"1,000 own data fields / 1 {cost['1,000 rules, each its own data field'] / cost['1 rule on a data field']:.1f}x; "
        f"1,000 of a kind / 1 such rule always matching: {per_kind}"
    )

    del cases
    rules = make_rules(10_000, seed=10_000)
    for paused in (False, True):
        compile_times, index_times, generate_times = [], [], []
        for _ in range(args.rounds):
            gc.collect()
            if paused:
                gc.disable()
            start = time.perf_counter()
            compiled_rules = [compile_pattern(rule) for rule in rules]
            middle = time.perf_counter()
            built: RuleIndex[int] = RuleIndex()
            for number, pattern in enumerate(compiled_rules):
                built.add(number, pattern)
            end = time.perf_counter()
            built.match(events[0])  # generates the function of every trie node
            generate_times.append(time.perf_counter() - end)
            gc.enable()
            compile_times.append(middle - start)
            index_times.append(end - middle)
            del compiled_rules, built
        totals = [c + i for c, i in zip(compile_times, index_times, strict=True)]
        print(
            f"\n10,000 rules{', the cyclic GC paused' if paused else ''}: compile_pattern + "
            f"RuleIndex.add best {min(totals):.3f} s, median {statistics.median(totals):.3f} s "
            f"(compile {statistics.median(compile_times):.3f} s, "
            f"index {statistics.median(index_times):.3f} s); first match (code generation) "
            f"median {statistics.median(generate_times):.3f} s"
        )


def _hit_rate(idx: RuleIndex[int], events: list[Any]) -> float:
    return sum(len(idx.match(e)) for e in events) / len(events)


if __name__ == "__main__":
    main()
