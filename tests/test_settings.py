from __future__ import annotations

from pathlib import Path

import pytest

from jsonvec import Codebook, CodebookError, Settings, load_codebook, save_codebook


def test_round_trip_through_dict() -> None:
    s = Settings(
        set_arrays=("tags",),
        number_exact_weight=0.25,
        field_weights={"user.name": 2.0},
        ignore_fields=("id",),
    )
    assert Settings.from_dict(s.to_dict()) == s


def test_missing_keys_take_defaults() -> None:
    assert Settings.from_dict({}) == Settings()


def test_weight_of_canonicalises_paths() -> None:
    s = Settings(field_weights={"a[0]": 2.0, "b": 3.0}, ignore_fields=("b",))
    assert s.weight_of() == {"a[0]": 2.0, "b": 0.0}


def test_integers_are_accepted_for_weights() -> None:
    assert Settings.from_dict({"leaf_bag_weight": 1}).leaf_bag_weight == 1.0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"colour": 1}, "unknown setting 'colour'"),
        ({"ngram": "3"}, "^setting 'ngram' must be an integer, not a string$"),
        ({"ngram": 2.5}, "^setting 'ngram' must be an integer, not a number$"),
        ({"ngram": 0}, "^setting 'ngram' must be at least 1$"),
        ({"string_exact_weight": -1}, "^setting 'string_exact_weight' must be a number of at"),
        ({"string_exact_weight": True}, "must be a number, not true or false$"),
        (
            {"number_level_widths": [1.0, 2.0]},
            "^number_level_widths has 2 entries but number_level_weights has 4 entries: give",
        ),
        ({"number_level_widths": 4}, "^setting 'number_level_widths' must be a list, not an"),
        ({"set_arrays": ["a..b"]}, "set_arrays: invalid path"),
        ({"set_arrays": [1]}, "^every entry of setting 'set_arrays' must be a string, not an"),
        ({"ignore_fields": ["a["]}, "ignore_fields: invalid path"),
        ({"field_weights": {"a": -1}}, "^every weight in setting 'field_weights' must be a"),
        ({"field_weights": {"a": "x"}}, "^every entry of setting 'field_weights' must be a num"),
        ({"field_weights": ["a"]}, "^setting 'field_weights' must be an object, not a list$"),
    ],
)
def test_bad_settings_are_refused(data: dict[str, object], problem: str) -> None:
    with pytest.raises(CodebookError, match=problem):
        Settings.from_dict(data)


def test_to_dict_does_not_alias_the_settings() -> None:
    s = Settings(field_weights={"a": 2.0})
    s.to_dict()["field_weights"]["a"] = 9.0
    assert s.field_weights == {"a": 2.0}


def test_settings_given_as_python_values_are_the_settings_a_file_holds(tmp_path: Path) -> None:
    """An integer weight is the number it is: the same codebook, fingerprint and file as the
    float (it once saved, then failed to load as "corrupted")."""
    book = Codebook(settings=Settings(field_weights={"name": 2}, set_arrays=["tags"]))
    assert book == Codebook(settings=Settings(field_weights={"name": 2.0}, set_arrays=("tags",)))
    save_codebook(book, tmp_path / "b.jvc")
    assert load_codebook(tmp_path / "b.jvc").fingerprint == book.fingerprint
