"""Encoder settings: every knob of the representation, stored in the codebook file."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from jsonvec.errors import CodebookError, PathError
from jsonvec.records.paths import EVERY, format_path, parse_path


@dataclass(frozen=True)
class Settings:
    """How JSON values become vectors. See ``docs/method.md`` for what each weight does.

    Attributes
    ----------
    atom_nonzeros : entries of an atom (one per block of ``dim / atom_nonzeros``); ``dim``
        gives dense atoms.
    piece_nonzeros : entries of the atom of an n-gram or a word (the pieces of a string).
    string_exact_weight : weight of the atom of the exact string.
    string_ngram_weight : weight of the bundle of character n-grams (case-folded for ASCII).
    string_word_weight : weight of the bundle of whitespace-separated words (case-folded).
    string_position_weight : weight of the trace of which character stands where in each word,
        counted from each end of the word (case-folded).
    position_chars : how many characters at each end of a word leave a trace of their place.
    position_words : how many words (the first) leave a trace.
    ngram : n of the character n-grams.
    ngram_max_chars : only the first this many characters of a string give n-grams.
    number_exact_weight : weight of the atom of the exact number.
    number_exact_nonzeros : entries of the atom of an exact number (and of zero).
    number_anchor_nonzeros : entries of each anchor atom of the graded number codes.
    number_level_widths : widths, in octaves of magnitude, of the graded number codes.
    number_level_weights : weight of each graded code, one per width.
    leaf_bag_weight : weight of the MBAT additive terms (unbound leaf vectors) per record.
    array_set_weight : weight of an order-free copy of every ordered array's elements.
    set_arrays : paths of arrays encoded as unordered sets (``tags``, ``items[].labels``).
    field_weights : weight of the value at a path relative to its siblings (default 1).
    ignore_fields : paths of values left out of the vectors (as a weight of 0).

    Examples
    --------
    >>> settings = Settings(set_arrays=("tags",), field_weights={"name": 2.0})
    >>> from jsonvec import Codebook, encode
    >>> book = Codebook(dim=256, settings=settings)
    >>> a, b = encode({"tags": ["x", "y"]}, book), encode({"tags": ["y", "x"]}, book)
    >>> bool((a == b).all())
    True
    """

    atom_nonzeros: int = 8
    piece_nonzeros: int = 1
    string_exact_weight: float = 1.0
    string_ngram_weight: float = 1.0
    string_word_weight: float = 0.5
    string_position_weight: float = 2.0
    position_chars: int = 8
    position_words: int = 2
    ngram: int = 3
    ngram_max_chars: int = 1000
    number_exact_weight: float = 0.3
    number_exact_nonzeros: int = 2
    number_anchor_nonzeros: int = 1
    number_level_widths: tuple[float, ...] = (0.0625, 0.5, 4.0, 16.0)
    number_level_weights: tuple[float, ...] = (1.0, 0.7, 0.6, 0.5)
    leaf_bag_weight: float = 0.0
    array_set_weight: float = 0.5
    set_arrays: tuple[str, ...] = ()
    field_weights: dict[str, float] = field(default_factory=dict)
    ignore_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # the types of every value, as from_dict checks
            default = f.default_factory() if callable(f.default_factory) else f.default
            object.__setattr__(self, f.name, _coerce(f.name, default, getattr(self, f.name)))
        for f in dataclasses.fields(self):
            if f.name.endswith("_weight"):
                _check_weight(f"setting {f.name!r}", getattr(self, f.name))
        for name, (low, high) in COUNTS.items():
            value = getattr(self, name)
            _check(low <= value <= high, f"setting {name!r} must be from {low} to {high:,}")
        widths, weights = self.number_level_widths, self.number_level_weights
        _check(
            all(WIDTHS[0] <= w <= WIDTHS[1] for w in widths),
            f"every entry of setting 'number_level_widths' must be from {WIDTHS[0]} to "
            f"{WIDTHS[1]:,.0f} (octaves)",
        )
        _check(
            0 < len(widths) <= MAX_LEVELS,
            f"setting 'number_level_widths' needs from 1 to {MAX_LEVELS} entries",
        )
        _check(
            len(weights) == len(widths),
            f"number_level_widths has {_entries(len(widths))} but number_level_weights has "
            f"{_entries(len(weights))}: give one weight per width (set both)",
        )
        for weight in weights:
            _check_weight("every entry of setting 'number_level_weights'", weight)
        for weight in self.field_weights.values():
            _check_weight("every weight in setting 'field_weights'", weight)
            _check(
                weight == 0.0 or weight >= MIN_FIELD_WEIGHT,
                f"every weight in setting 'field_weights' must be 0 (ignored) or at least "
                f"{MIN_FIELD_WEIGHT}",
            )
        for name in ("set_arrays", "ignore_fields", "field_weights"):
            for path in getattr(self, name):
                _check_generic(name, path)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy of every setting (tuples become lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def weight_of(self) -> dict[str, float]:
        """Field weights by canonical path, with ignored fields at 0."""
        weights = {_canonical(p): w for p, w in self.field_weights.items()}
        weights.update({_canonical(p): 0.0 for p in self.ignore_fields})
        return weights

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Settings from :meth:`to_dict` output; missing keys take their defaults.

        Raises :class:`CodebookError` for unknown keys and for values of the wrong type.
        """
        if not isinstance(data, dict):
            raise CodebookError("", f"settings must be an object, not {_kind(data)}")
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if not hasattr(defaults, name):
                raise CodebookError("", f"unknown setting {name!r}")
            kwargs[name] = _coerce(name, getattr(defaults, name), value)
        return cls(**kwargs)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (validated like :meth:`from_dict`)."""
        return Settings.from_dict({**self.to_dict(), **changes})


#: The bounds of every integer setting (inclusive).
COUNTS = {
    "atom_nonzeros": (1, 65536),
    "piece_nonzeros": (1, 65536),
    "number_exact_nonzeros": (1, 65536),
    "number_anchor_nonzeros": (1, 65536),
    "ngram": (1, 64),
    "ngram_max_chars": (1, 1_000_000),
    "position_chars": (0, 1000),
    "position_words": (0, 1_000_000),
}
#: Every weight is at most this (its square, summed over many fields, stays far from
#: overflow); a field weight that is not 0 is at least MIN_FIELD_WEIGHT (far from underflow).
MAX_WEIGHT = 1e6
MIN_FIELD_WEIGHT = 1e-6
#: The widths of the graded number codes, in octaves (a cell number always fits an int64).
WIDTHS = (1e-3, 1e6)
MAX_LEVELS = 16

_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _kind(value: Any) -> str:
    """What a JSON value is, in a user's words."""
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return _KINDS.get(type(value), type(value).__name__)


def _coerce(name: str, default: Any, value: Any, entry: bool = False) -> Any:
    """Check a raw JSON value against the type of the setting's default.

    ``entry``: the value is one entry of a list or object setting.
    """
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise CodebookError("", f"setting {name!r} must be an object, not {_kind(value)}")
        if not all(isinstance(k, str) for k in value):
            raise CodebookError("", f"the keys of setting {name!r} must be paths (strings)")
        return {k: _coerce(name, 0.0, v, entry=True) for k, v in value.items()}
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise CodebookError("", f"setting {name!r} must be a list, not {_kind(value)}")
        item = str if name in ("set_arrays", "ignore_fields") else float
        return tuple(_coerce(name, item(), v, entry=True) for v in value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, float) and number:
        return float(value)
    if isinstance(default, int) and number and isinstance(value, int):
        return value
    if isinstance(default, str) and isinstance(value, str):
        return value
    where = f"every entry of setting {name!r}" if entry else f"setting {name!r}"
    raise CodebookError("", f"{where} must be {_KINDS[type(default)]}, not {_kind(value)}")


def _plain(value: Any) -> Any:
    """A copy of a setting's value that JSON can hold and callers cannot alias."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _canonical(path: str) -> str:
    return format_path(parse_path(path))


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _check_weight(what: str, value: float) -> None:
    _check(
        math.isfinite(value) and 0.0 <= value <= MAX_WEIGHT,
        f"{what} must be a number from 0 to {MAX_WEIGHT:,.0f}",
    )


def _check_generic(name: str, path: str) -> None:
    """A path of a setting must be valid and generic: ``items[].sku``, never ``items[0].sku``
    (a setting applies to every element alike; an index would never match)."""
    try:
        segments = parse_path(path)
    except PathError as exc:
        raise CodebookError("", f"{name}: {exc}") from exc
    if any(isinstance(segment, int) for segment in segments):
        generic = format_path(tuple(EVERY if isinstance(s, int) else s for s in segments))
        raise CodebookError(
            "",
            f"{name}: {path!r} names one element of an array, but settings apply to every "
            f"element alike: write {generic!r}",
        )


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise CodebookError("", problem)
