"""explain() says which field and which condition decided, in words."""

from __future__ import annotations

from eventbridge_sdk.patterns import Explanation, compile_pattern

ORDER = {"type": ["order.created"], "data": {"total": [{"numeric": [">", 100]}]}}


def test_a_match_lists_what_matched() -> None:
    explanation = compile_pattern(ORDER).explain({"type": "order.created", "data": {"total": 120}})

    assert explanation.matched
    assert str(explanation) == (
        "match\n"
        '  - type: "order.created" matches ["order.created"]\n'
        '  - data.total: 120 matches [{"numeric":[">",100]}]'
    )


def test_a_failure_names_only_the_failing_fields() -> None:
    explanation = compile_pattern(ORDER).explain({"type": "order.created", "data": {"total": 20}})

    assert not explanation
    assert explanation.reasons == ('data.total: 20 does not match [{"numeric":[">",100]}]',)


def test_a_missing_field_is_called_missing() -> None:
    explanation = compile_pattern(ORDER).explain({"type": "order.created"})

    assert explanation.reasons == (
        'data.total: the field is missing; the pattern wants [{"numeric":[">",100]}]',
    )


def test_an_object_where_a_leaf_is_expected_is_explained() -> None:
    explanation = compile_pattern({"data": ["x"]}).explain({"data": {"a": 1}})

    assert "data: the value is an object" in str(explanation)


def test_a_scalar_where_an_object_is_expected_is_explained() -> None:
    explanation = compile_pattern({"data": {"a": ["x"]}}).explain({"data": "x"})

    assert explanation.reasons[0] == 'data: "x" is not an object, so its fields are missing'


def test_array_elements_are_named_by_index() -> None:
    pattern = compile_pattern({"items": {"sku": ["A"], "qty": [{"numeric": [">", 1]}]}})

    explanation = pattern.explain({"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]})

    assert str(explanation).splitlines() == [
        "no match",
        "  - items: none of the 2 array elements matches all its fields",
        '      items[0].qty: 1 does not match [{"numeric":[">",1]}]',
        '      items[1].sku: "B" does not match ["A"]',
    ]


def test_a_match_in_an_array_names_the_element() -> None:
    pattern = compile_pattern({"items": {"sku": ["B"]}})

    explanation = pattern.explain({"items": [{"sku": "A"}, {"sku": "B"}]})

    assert explanation.reasons == ('items[1].sku: "B" matches ["B"]',)


def test_exists_false_failing_elsewhere_in_an_array_is_explained() -> None:
    pattern = compile_pattern({"a": {"b": [{"exists": False}]}})

    explanation = pattern.explain({"a": [{"c": 1}, {"b": 2}]})

    assert not explanation.matched
    assert explanation.reasons == (
        'a.b: the event has 2 at a[1].b, and [{"exists":false}] requires the field absent '
        "everywhere",
    )


def test_or_failure_lists_each_combination() -> None:
    pattern = compile_pattern({"$or": [{"source": ["a"]}, {"type": [{"prefix": "x."}]}]})

    explanation = pattern.explain({"source": "b", "type": "y.z"})

    assert str(explanation).splitlines() == [
        "no match",
        "  - none of the 2 combinations of $or branches matched",
        "  - $or[0]:",
        '      source: "b" does not match ["a"]',
        "  - $or[1]:",
        '      type: "y.z" does not match [{"prefix":"x."}]',
    ]


def test_or_match_names_the_branch_taken() -> None:
    pattern = compile_pattern({"d": {"$or": [{"a": [1]}, {"b": [2]}]}})

    explanation = pattern.explain({"d": {"b": 2}})

    assert explanation.reasons == ("d.$or[1]:", "  d.b: 2 matches [2]")


def test_empty_pattern_says_it_matches_everything() -> None:
    explanation = compile_pattern({}).explain({"x": 1})

    assert explanation == Explanation(True, ("the pattern is empty and matches every event",))


def test_explain_accepts_an_object_with_to_dict() -> None:
    class Carrier:
        def to_dict(self) -> dict[str, str]:
            return {"type": "order.created"}

    assert compile_pattern({"type": ["order.created"]}).explain(Carrier()).matched
