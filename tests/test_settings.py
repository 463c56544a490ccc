from __future__ import annotations

import pytest

from jsonvec import CodebookError, Settings


def test_round_trip_through_dict() -> None:
    s = Settings(set_arrays=("tags",), number_exact_weight=0.25)
    assert Settings.from_dict(s.to_dict()) == s


def test_missing_keys_take_defaults() -> None:
    assert Settings.from_dict({}) == Settings()


def test_integers_are_accepted_for_weights() -> None:
    assert Settings.from_dict({"leaf_bag_weight": 1}).leaf_bag_weight == 1.0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"colour": 1}, "unknown setting 'colour'"),
        ({"ngram": "3"}, "'ngram' must be a int"),
        ({"ngram": 0}, "invalid value for setting 'ngram'"),
        ({"string_exact_weight": -1}, "invalid value"),
        ({"string_exact_weight": True}, "wrong type"),
        ({"number_level_widths": [1.0]}, "number_level_weights"),
        ({"number_level_widths": 4}, "must be a list"),
        ({"set_arrays": ["a..b"]}, "set_arrays: invalid path"),
    ],
)
def test_bad_settings_are_refused(data: dict[str, object], problem: str) -> None:
    with pytest.raises(CodebookError, match=problem):
        Settings.from_dict(data)
