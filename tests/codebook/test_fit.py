from __future__ import annotations

import math

import pytest

from jsonvec import Settings
from jsonvec.codebook.fit import PathStats, field_stats, fit_settings


def test_spread_is_zero_for_a_constant_and_one_for_all_distinct() -> None:
    constant, distinct = PathStats(), PathStats()
    for i in range(50):
        constant.add("same", 100)
        distinct.add(i, 100)
    assert constant.spread() == 0.0
    assert distinct.spread() == pytest.approx(1.0)


def test_overflow_values_count_as_distinct() -> None:
    capped, exact = PathStats(), PathStats()
    for i in range(40):
        capped.add(i, 5)
        exact.add(i, 1000)
    assert capped.spread() == pytest.approx(exact.spread())
    assert len(capped.values) == 5


def test_field_stats_pools_array_elements() -> None:
    records = [{"a": {"b": 1}, "items": [{"sku": "x"}, {"sku": "y"}]}, {"a": {"b": 2}}]
    stats = field_stats(records)
    assert sorted(stats) == ["a", "a.b", "items", "items[].sku"]
    assert stats["items[].sku"].count == 2
    assert stats["a.b"].count == 2


def test_fit_downweights_constant_fields_and_keeps_user_weights() -> None:
    records = [{"kind": "event", "user": f"u{i}", "n": i % 2} for i in range(100)]
    base = Settings(field_weights={"n": 5.0}, set_arrays=("tags",))
    fitted = fit_settings(records, base, floor=0.25)
    assert fitted.field_weights["kind"] == 0.25
    assert "user" not in fitted.field_weights  # all distinct: weight 1, left out
    assert fitted.field_weights["n"] == 5.0
    assert fitted.set_arrays == ("tags",)
    assert math.isclose(
        fit_settings(records, floor=0.25).field_weights["n"],
        0.25 + 0.75 * math.log(2) / math.log(100),
        abs_tol=1e-4,
    )
