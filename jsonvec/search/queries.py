"""Queries as people give them: the one rule that tells a query from the vectors it searches.

In ``jsonvec similar VECTORS... [QUERY]`` the last argument is the query when it is JSON:
any JSON value, of any length the system passes in one argument (128 KB on Linux), such as a
whole record copied from a file (a query given by an option too is then one too many). The
query's text is never looked up as a file name (a record longer than a file name can be once
ended in a traceback), so a file whose name is JSON (``42``) is named ``./42``. Every other
argument names vectors (files, folders or glob patterns): one that names nothing says so, and
a last argument that looks like JSON (it starts with ``{``, ``[`` or ``"``) but is not says
why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from jsonvec.errors import UsageError
from jsonvec.records.reader import parse_line, read_lines
from jsonvec.storage.collection import names_vectors

#: how a query can be given, for messages
QUERY_WAYS = "QUERY (the last argument), --query JSON, -i FILE or --id ID"
_JSON_STARTS = ("{", "[", '"')


def split_arguments(args: Sequence[str]) -> tuple[list[str], str | None]:
    """VECTORS, and the query given as the last argument (None if it is not one).

    Raises :class:`UsageError` for an argument that names no vectors, or a last argument
    meant as JSON that is not, and when no argument names vectors.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> split_arguments([folder, '{"city": "Paris"}'])[1]
    '{"city": "Paris"}'
    >>> split_arguments([folder, "42"])[1], split_arguments([folder])[1]
    ('42', None)
    """
    vectors = list(args)
    inline: str | None = None
    if vectors:
        last = vectors[-1]
        if _is_json(last):
            inline = vectors.pop()
        elif last.lstrip().startswith(_JSON_STARTS) and not names_vectors(last):
            raise UsageError(f"the query is not valid JSON: {_json_error(last)}")
    for arg in vectors:
        if not names_vectors(arg):
            raise UsageError(f"{arg}: no such vectors file, folder or glob")
    if not vectors:
        raise UsageError("give VECTORS: vectors files, folders or glob patterns")
    return vectors, inline


def check_one_query(given: Sequence[object]) -> None:
    """Refuse no query, or a query given more than one way (``given`` holds each way's
    value, None where that way was not used)."""
    count = sum(1 for value in given if value is not None)
    if count == 0:
        raise UsageError(f"give a query: {QUERY_WAYS}")
    if count > 1:
        raise UsageError(f"give one query, not {count}: {QUERY_WAYS}")


def parse_query(text: str, where: str = "the query") -> Any:
    """The JSON value of a query's text; :class:`UsageError` saying why it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise UsageError(f"{where} is not valid JSON: {_json_error(text)}") from None


def read_queries(path: str, fmt: str | None = None) -> tuple[list[Any], list[int]]:
    """The queries of a file of records (``-``: stdin), and their line numbers (blank lines
    counted); an invalid one is an :class:`~jsonvec.errors.InvalidLineError`."""
    lines = [line for line in read_lines([path], fmt=fmt) if not line.is_blank]
    return [parse_line(line) for line in lines], [line.lineno for line in lines]


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _json_error(text: str) -> str:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"{exc.msg} (column {exc.colno})"
    return "valid"  # pragma: no cover - only called for text that failed to parse
