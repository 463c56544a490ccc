"""Paths into JSON values: ``user.id``, ``items[0].sku``, ``items[].tags``.

Syntax: keys separated by ``.``; ``[N]`` after a key picks array element N; ``[]`` stands for
every element of an array (used by settings such as ``set_arrays``). A literal dot, bracket or
backslash inside a key is escaped with a backslash (``a\\.b`` is the key ``a.b``).
"""

from __future__ import annotations

import re
from typing import Any

from jsonvec.errors import JsonvecError

EVERY = "[]"
Segment = str | int

_INDEX = re.compile(r"\[(\d*)\]")
_SPECIAL = re.compile(r"([.\[\]\\])")


class PathError(JsonvecError):
    """A path string is malformed."""


class MissingPathError(JsonvecError):
    """A path does not exist in a value."""


def parse_path(text: str) -> tuple[Segment, ...]:
    """Split a path into keys (str), indices (int) and :data:`EVERY` markers.

    >>> parse_path("items[0].tags[]")
    ('items', 0, 'tags', '[]')
    >>> parse_path("a\\\\.b")
    ('a.b',)
    """
    segments: list[Segment] = []
    key: list[str] | None = None  # None: no key started since the last separator
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "[":
            if key is not None:
                if not key:
                    raise PathError(f"invalid path {text!r}: empty key")
                segments.append("".join(key))
                key = None
            match = _INDEX.match(text, i)
            if match is None:
                raise PathError(f"invalid path {text!r}: expected [N] or []")
            segments.append(int(match.group(1)) if match.group(1) else EVERY)
            i = match.end()
            if i < len(text) and text[i] not in ".[":
                raise PathError(f"invalid path {text!r}: expected . or [ after ]")
            if i < len(text) and text[i] == ".":
                i += 1
                key = []
            continue
        if ch == ".":
            if not key:
                raise PathError(f"invalid path {text!r}: empty key")
            segments.append("".join(key))
            key = []
        elif ch == "]":
            raise PathError(f"invalid path {text!r}: unmatched ]")
        else:
            if ch == "\\":
                i += 1
                if i == len(text):
                    raise PathError(f"invalid path {text!r}: trailing backslash")
                ch = text[i]
            key = [*(key or []), ch]
        i += 1
    if key is not None:
        if not key:
            raise PathError(f"invalid path {text!r}: empty key")
        segments.append("".join(key))
    if not segments:
        raise PathError("invalid path: empty")
    return tuple(segments)


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
