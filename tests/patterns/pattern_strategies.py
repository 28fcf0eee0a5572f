"""Hypothesis strategies shared by the property tests of patterns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def pattern_objects(
    leaves: st.SearchStrategy[Any], keys: Sequence[str], depth: int
) -> st.SearchStrategy[dict[str, Any]]:
    """Pattern objects over ``keys`` nested up to ``depth``, with two-branch ``$or``s."""
    child: st.SearchStrategy[Any] = (
        leaves if depth == 0 else st.one_of(leaves, pattern_objects(leaves, keys, depth - 1))
    )
    fields = st.dictionaries(st.sampled_from(list(keys)), child, min_size=1, max_size=3)
    if depth == 0:
        return fields
    branches = st.lists(pattern_objects(leaves, keys, depth - 1), min_size=2, max_size=2)
    with_or = st.tuples(fields, branches).map(lambda pair: {**pair[0], "$or": pair[1]})
    return st.one_of(fields, fields, with_or)


def patterns(leaves: st.SearchStrategy[Any], keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """Whole patterns: the empty (match-all) one or objects two levels deep."""
    return st.one_of(st.just({}), pattern_objects(leaves, keys, 2))
