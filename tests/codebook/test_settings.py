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
    s = Settings(field_weights={"a[]": 2.0, "b": 3.0, "c\\.d": 1.0}, ignore_fields=("b",))
    assert s.weight_of() == {"a[]": 2.0, "b": 0.0, "c\\.d": 1.0}


def test_integers_are_accepted_for_weights() -> None:
    assert Settings.from_dict({"leaf_bag_weight": 1}).leaf_bag_weight == 1.0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"colour": 1}, "unknown setting 'colour'"),
        ({"ngram": "3"}, "^setting 'ngram' must be an integer, not a string$"),
        ({"ngram": 2.5}, "^setting 'ngram' must be an integer, not a number$"),
        ({"ngram": 0}, "^setting 'ngram' must be from 1 to 64$"),
        ({"ngram_max_chars": 2**31}, "^setting 'ngram_max_chars' must be from 1 to 1,000,000$"),
        ({"position_chars": -1}, "^setting 'position_chars' must be from 0 to 1,000$"),
        ({"atom_nonzeros": 0}, "^setting 'atom_nonzeros' must be from 1 to 65,536$"),
        ({"number_anchor_nonzeros": 0}, "^setting 'number_anchor_nonzeros' must be from 1 to"),
        ({"string_exact_weight": -1}, "^setting 'string_exact_weight' must be a number from 0 to"),
        ({"string_position_weight": 1e7}, "^setting 'string_position_weight' must be a number"),
        ({"array_set_weight": float("inf")}, "^setting 'array_set_weight' must be a number from"),
        (
            {"number_level_widths": [1e-17], "number_level_weights": [1.0]},
            "^every entry of setting 'number_level_widths' must be from 0.001 to 1,000,000",
        ),
        (
            {"number_level_widths": [1.0] * 17, "number_level_weights": [1.0] * 17},
            "^setting 'number_level_widths' needs from 1 to 16 entries$",
        ),
        ({"number_level_weights": [1.0, 1.0, 1.0, -1.0]}, "^every entry of setting 'number_lev"),
        ({"field_weights": {"a": 1e200}}, "^every weight in setting 'field_weights' must be a n"),
        ({"field_weights": {"a": 1e-170}}, "^every weight in setting 'field_weights' must be 0 "),
        (
            {"field_weights": {"items[0].sku": 2.0}},
            "^field_weights: 'items\\[0\\].sku' names one element of an array, but settings "
            "apply to every element alike: write 'items\\[\\].sku'$",
        ),
        (
            {"ignore_fields": ["a[3][]"]},
            "^ignore_fields: 'a\\[3\\]\\[\\]' names one .* write 'a\\[\\]\\[\\]'$",
        ),
        ({"set_arrays": ["x[0].tags"]}, "write 'x\\[\\].tags'$"),
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
