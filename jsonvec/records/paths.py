"""Paths into JSON values: ``user.id``, ``items[0].sku``, ``items[].tags``.

Syntax: keys separated by ``.``; ``[N]`` after a key picks array element N; ``[]`` stands for
every element of an array (used by settings such as ``set_arrays``). A literal dot, bracket or
backslash inside a key is escaped with a backslash (``a\\.b`` is the key ``a.b``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jsonvec.errors import MissingPathError, PathError

EVERY = "[]"
Segment = str | int

_INDEX = re.compile(r"\[(\d*)\]")
_PIECE = re.compile(r"((?:\\.|[^\[\]\\])*)((?:\[\d*\])*)", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_SYNTAX = "use KEY, KEY.KEY, KEY[N] or KEY[] (escape . [ ] \\ with \\)"
_SPECIAL = re.compile(r"([.\[\]\\])")


def parse_path(text: str) -> tuple[Segment, ...]:
    """Split a path into keys (str), indices (int) and :data:`EVERY` markers.

    >>> parse_path("items[0].tags[]")
    ('items', 0, 'tags', '[]')
    >>> parse_path("a\\\\.b")
    ('a.b',)
    """
    segments: list[Segment] = []
    for position, piece in enumerate(_split_on_dots(text)):
        match = _PIECE.fullmatch(piece)
        if match is None:
            raise PathError(f"invalid path {text!r}: {_SYNTAX}")
        key, indices = match.groups()
        if key:
            segments.append(_ESCAPE.sub(r"\1", key))
        elif position > 0 or not indices:
            raise PathError(f"invalid path {text!r}: empty key")
        segments.extend(int(i) if i else EVERY for i in _INDEX.findall(indices))
    return tuple(segments)


def _split_on_dots(text: str) -> list[str]:
    """Split at dots that are not escaped; escapes stay in the pieces."""
    pieces, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == ".":
            pieces.append(text[start:i])
            start = i + 1
        i += 1
    pieces.append(text[start:])
    return pieces


def escape_key(key: str) -> str:
    """A key as it appears in a path string.

    >>> escape_key("a.b")
    'a\\\\.b'
    """
    return _SPECIAL.sub(r"\\\1", key)


def child_path(parent: str, key: str) -> str:
    """The path string of ``key`` under ``parent`` (``""`` is the root)."""
    escaped = escape_key(key)
    return f"{parent}.{escaped}" if parent else escaped


def element_path(parent: str) -> str:
    """The path string of every element of the array at ``parent``."""
    return parent + EVERY


def format_path(segments: tuple[Segment, ...]) -> str:
    """The canonical text of parsed segments (inverse of :func:`parse_path`)."""
    text = ""
    for segment in segments:
        if segment == EVERY:
            text = element_path(text)
        elif isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text = child_path(text, segment)
    return text


def get_path(value: Any, segments: tuple[Segment, ...]) -> Any:
    """The value at ``segments`` inside ``value``; :class:`MissingPathError` if absent."""
    for segment in segments:
        if isinstance(segment, int) and isinstance(value, list) and segment < len(value):
            value = value[segment]
        elif isinstance(segment, str) and segment != EVERY and isinstance(value, dict):
            if segment not in value:
                raise MissingPathError(f"field {format_path(segments)!r} is missing")
            value = value[segment]
        else:
            raise MissingPathError(f"field {format_path(segments)!r} is missing")
    return value


def values_at(value: Any, segments: Sequence[Segment | None], every: object = EVERY) -> list[Any]:
    """Every value at ``segments`` inside ``value`` ([] where there is none): keys, element
    indices, and ``every`` (default :data:`EVERY`) for every element of an array.

    >>> values_at({"items": [{"sku": "A"}, {"sku": "B"}]}, ("items", EVERY, "sku"))
    ['A', 'B']
    """
    found = [value]
    for step in segments:
        if step is every or (isinstance(step, str) and step == every):
            found = [x for v in found if isinstance(v, list) for x in v]
        elif isinstance(step, int):
            found = [v[step] for v in found if isinstance(v, list) and step < len(v)]
        else:
            found = [v[step] for v in found if isinstance(v, dict) and step in v]
    return found
