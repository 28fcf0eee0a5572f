"""Instructions per event of ``RuleIndex.match``, counted by valgrind: figures that do not move
with the load of a shared machine, unlike the events/s of ``bench/patterns.py``.

Usage (needs valgrind: ``apt-get install valgrind``)::

    .venv/bin/python bench/pattern_instructions.py                 # every case
    .venv/bin/python bench/pattern_instructions.py --cases one mixed-1000

Each figure is (instructions of 3 passes over the 2,000 events of ``bench/patterns.py``
minus those of 1 pass) / 4,000, with ``PYTHONHASHSEED=0``: the whole per-event cost of the
Python loop calling ``idx.match`` on an already-parsed event, including that call. With
``--decoded``, each event is matched right after ``orjson.loads`` made it, as the runtime
matches an event it has just read (its strings not hashed yet), and the instructions of the
same loop decoding alone are taken off. Each run takes about a minute under valgrind; two run
at a time.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from patterns import (  # bench/patterns.py, beside this script
    EVERY_FIELD,
    KINDS,
    OWN_FIELDS,
    OWN_TYPES,
    build_index,
    make_event,
    make_full_rule,
    make_rule,
    make_rules,
)

CASES = [
    "one",
    "fields",
    "own-types-1000",
    "own-field-1",
    "own-fields-1000",
    *(f"full-{kind}" for kind in KINDS),
    *(f"{kind}-1000" for kind in KINDS),
    "mixed-1000",
    "mixed-10000",
]


def patterns_of(case: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if case == "one":
        return [{"type": [events[0]["type"]]}]
    if case == "fields":  # one rule reading every field the mixed rules read
        return [EVERY_FIELD]
    if case == "own-types-1000":
        return OWN_TYPES
    if case == "own-field-1":
        return OWN_FIELDS[:1]
    if case == "own-fields-1000":
        return OWN_FIELDS
    if case.startswith("full-"):
        return [make_full_rule(case.removeprefix("full-"))]
    kind, count = case.rsplit("-", 1)
    if kind == "mixed":
        return make_rules(int(count), seed=int(count))
    rng = random.Random(1_000)
    return [make_rule(rng, kind) for _ in range(int(count))]


def run(case: str, mode: str, passes: int) -> None:
    """The measured process: build the index, then match every event ``passes`` times.

    ``mode`` ``decoded`` decodes each event just before its match; case ``decode`` only
    decodes.
    """
    rng = random.Random(7)
    events = [make_event(rng) for _ in range(2000)]
    raw = [orjson.dumps(event) for event in events]
    loads = orjson.loads
    if case == "decode":
        gc.disable()
        for _ in range(passes):
            for body in raw:
                loads(body)
        return
    idx = build_index(patterns_of(case, events))
    idx.match(events[0])
    gc.disable()
    match = idx.match
    if mode == "decoded":
        for _ in range(passes):
            for body in raw:
                match(loads(body))
        return
    for _ in range(passes):
        for event in events:
            match(event)


def count(case: str, mode: str, passes: int) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--run",
            case,
            mode,
            str(passes),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_event(case: str, mode: str) -> float:
    return (count(case, mode, 3) - count(case, mode, 1)) / 4000


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=CASES)
    parser.add_argument(
        "--decoded", action="store_true", help="match each event right after decoding it"
    )
    args = parser.parse_args()
    mode = "decoded" if args.decoded else "parsed"
    jobs = [(case, mode) for case in args.cases]
    if args.decoded:
        jobs.append(("decode", "none"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        counted = dict(zip(jobs, pool.map(lambda job: per_event(*job), jobs), strict=True))
    decode = counted.pop(("decode", "none"), 0.0)
    results = {case: n - decode for (case, _), n in counted.items()}
    if args.decoded:
        print(f"decoding alone: {decode:,.0f} instructions per event, taken off each figure")
    print(f"{'case':16} {'instr/event':>14}")
    for case in args.cases:
        print(f"{case:16} {results[case]:14,.0f}")
    for baseline in ("one", "fields"):
        if baseline in args.cases and "mixed-1000" in args.cases:
            ratio = results["mixed-1000"] / results[baseline]
            print(f"mixed-1000 / {baseline} = {ratio:.2f}x")


if __name__ == "__main__":
    main()
