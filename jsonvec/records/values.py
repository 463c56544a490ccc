"""Python values a record may hold besides JSON's own, and the JSON value each stands for.

Records read from JSON text hold only ``dict``, ``list``, ``str``, ``int``, ``float``,
``bool`` and ``None``; the encoder's fast path takes exactly those (and their subclasses).
Records built in Python often hold more: numpy scalars and arrays, tuples, other mappings and
sequences. :func:`as_json` turns such a record into the JSON value it stands for, so that it
encodes as that JSON text would:

- numpy integers and bools become ``int`` and ``bool``; numpy floats become ``float``,
  *widened exactly*: ``np.float32(0.1)`` is 0.100000001490116…, not 0.1, so its vector can
  differ from the one of ``0.1`` read from JSON text (cast to ``float`` after rounding, e.g.
  ``float(str(x))``, if the text's value is meant);
- numpy arrays become (nested) lists of their elements; a 0-dimensional array is its element;
- any other :class:`~collections.abc.Mapping` becomes a ``dict`` (keys must be strings, as in
  JSON); any other :class:`~collections.abc.Sequence` but ``str``, ``bytes`` and
  ``bytearray`` (a tuple, for one) becomes a ``list``.

Anything else (a set, bytes, a date, an object) is an :class:`EncodeError` naming the path of
the value, since JSON has no such value and guessing one would give vectors nobody asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jsonvec.errors import EncodeError
from jsonvec.records.paths import child_path, element_path

__all__ = ["as_json"]

_PLAIN_LEAVES = (str, int, float, bool, type(None))
_NOT_SEQUENCES = (str, bytes, bytearray)


def as_json(value: Any, where: str = "") -> Any:
    """The JSON value ``value`` stands for; ``value`` itself when it is one already.

    Parameters
    ----------
    value : any
        A record, or a value inside one.
    where : str
        The path of ``value`` in its record, for error messages (``""``: the record).

    Returns
    -------
    The same value with dicts, lists, strings, numbers, bools and None only.

    Raises
    ------
    EncodeError
        For a value with no JSON equivalent, or a mapping key that is no string.

    Examples
    --------
    >>> as_json({"xy": (1, np.int64(2)), "ok": np.bool_(True)})
    {'xy': [1, 2], 'ok': True}
    >>> as_json(np.float32(0.1))
    0.10000000149011612
    >>> as_json({"s": {"a"}})
    Traceback (most recent call last):
    ...
    jsonvec.errors.EncodeError: at 's': cannot encode a value of type set (JSON has no such value)
    """
    kind = type(value)
    if kind is dict:
        converted = {
            _key(key, where): as_json(child, child_path(where, _key(key, where)))
            for key, child in value.items()
        }
        return value if _same(value.values(), converted.values()) else converted
    if kind is list:
        items = [as_json(child, element_path(where)) for child in value]
        return value if _same(value, items) else items
    numpy = isinstance(value, np.generic | np.ndarray)  # np.float64 and np.str_ too
    if kind in _PLAIN_LEAVES or (isinstance(value, _PLAIN_LEAVES) and not numpy):
        return value  # other subclasses of str, int and float encode as their base
    if numpy:
        return _numpy(value, where)
    if isinstance(value, Mapping):
        return {
            _key(key, where): as_json(child, child_path(where, _key(key, where)))
            for key, child in value.items()
        }
    if isinstance(value, Sequence) and not isinstance(value, _NOT_SEQUENCES):
        return [as_json(child, element_path(where)) for child in value]
    raise EncodeError(
        f"{_place(where)}: cannot encode a value of type {kind.__name__} (JSON has no such value)"
    )


def _numpy(value: np.generic | np.ndarray[Any, Any], where: str) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)  # exact: every float16/32/64 value is a float64 value
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        return as_json(value.tolist(), where)
    raise EncodeError(
        f"{_place(where)}: cannot encode a numpy value of dtype {value.dtype} "
        "(JSON has no such value)"
    )


def _key(key: Any, where: str) -> str:
    if isinstance(key, str):
        return str(key)
    raise EncodeError(
        f"{_place(where, 'under')}: key {key!r} is {type(key).__name__}, but keys must be "
        "strings (as in JSON)"
    )


def _same(before: Any, after: Any) -> bool:
    return all(a is b for a, b in zip(before, after, strict=True))


def _place(where: str, preposition: str = "at") -> str:
    return f"{preposition} {where!r}" if where else "at the top level"
