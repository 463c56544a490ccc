"""Which paths the stored records hold, and of which JSON types: the words of a warning.

A field query on a path that no record holds (``--by-field '{"nmae": ...}'``, ``--where
capitl=Berlin``, ``probe --path``) would quietly find nothing; a ``--where`` value of another
type than the values stored there (``ccn3=276`` where they are strings) too. The search says
so instead, naming the nearest paths that do exist (by edit distance) or the types found. The
census reads the records again, so it is taken only when such a warning is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from jsonvec.records.paths import EVERY, child_path, element_path
from jsonvec.search.fields import osa_distance

#: distinct paths the census keeps (records whose keys are ids have ever more)
MAX_PATHS = 100_000
_NEAREST = 3

Census = dict[str, set[str]]
_PLURALS = {
    "string": "strings",
    "number": "numbers",
    "boolean": "booleans",
    "null": "nulls",
    "object": "objects",
    "array": "arrays",
}


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: string, number, boolean, null, object or array.

    >>> json_type("276"), json_type(276), json_type(None)
    ('string', 'number', 'null')
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else "array"


def generic_path(segments: Sequence[str | int | None]) -> str:
    """A path as the census writes it: keys, and ``[]`` for any array step (an index, every
    element).

    >>> generic_path(("items", 0, "sku")), generic_path(("tags", None))
    ('items[].sku', 'tags[]')
    """
    text = ""
    for segment in segments:
        if segment is None or isinstance(segment, int) or segment == EVERY:
            text = element_path(text)
        else:
            text = child_path(text, segment)
    return text


def take_census(records: Iterable[Any]) -> Census:
    """Every path (objects, arrays and leaves) the records hold, with the JSON types of the
    values there; at most :data:`MAX_PATHS` paths."""
    found: Census = {}
    for record in records:
        stack: list[tuple[Any, str]] = [(record, "")]
        while stack:
            node, path = stack.pop()
            if path:
                types = found.get(path)
                if types is None:
                    if len(found) >= MAX_PATHS:
                        continue
                    types = found[path] = set()
                types.add(json_type(node))
            if isinstance(node, dict):
                stack.extend((child, child_path(path, key)) for key, child in node.items())
            elif isinstance(node, list):
                stack.extend((child, element_path(path)) for child in node)
    return found


def nearest_paths(path: str, census: Census, count: int = _NEAREST) -> list[str]:
    """The ``count`` paths of the census closest to ``path`` by edit distance (then name).

    >>> nearest_paths("nmae.common", {"name": {"object"}, "name.common": {"string"}})
    ['name.common', 'name']
    """
    return sorted(census, key=lambda known: (osa_distance(path, known), known))[:count]


def missing_path(path: str, census: Census, what: str) -> str:
    """The warning for ``what`` (``--by-field``, ``--where``...) on a path no record holds."""
    if not census:
        return f"{what}: no stored record holds a value at {path} (they hold no fields)"
    near = ", ".join(nearest_paths(path, census))
    return f"{what}: no stored record holds a value at {path}; the nearest paths are: {near}"


def other_type(path: str, value: Any, census: Census, what: str) -> str | None:
    """The warning for a value of a type no record holds at ``path`` (None if some do)."""
    types = census.get(path, set())
    wanted = json_type(value)
    if not types or wanted in types:
        return None
    held = " or ".join(_PLURALS[t] for t in sorted(types))
    shown = orjson.dumps(value).decode()
    hint = ""
    if types == {"string"} and wanted in ("number", "boolean", "null"):
        text = orjson.dumps(orjson.dumps(value).decode()).decode()
        hint = f" (as text: {path}='{text}')"
    article = "an" if wanted[0] in "aeiou" else "a"
    return f"{what}: the values at {path} are {held}, and {shown} is {article} {wanted}{hint}"
