from __future__ import annotations

from eventbridge_sdk.patterns import RuleIndex, compile_pattern


def test_exact_pattern_matches_and_index_returns_keys_in_insertion_order() -> None:
    idx: RuleIndex[str] = RuleIndex()
    idx.add("b", compile_pattern({"type": ["order.paid"]}))
    idx.add("a", compile_pattern({"source": ["shop"]}))
    idx.add("c", compile_pattern({"source": ["other"]}))

    assert idx.match({"type": "order.paid", "source": "shop"}) == ["b", "a"]
