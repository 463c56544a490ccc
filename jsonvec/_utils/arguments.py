"""The arguments of public calls, checked where they come in: a wrong one is a JsonvecError.

The Python API promises that whatever it raises to a caller is a
:class:`~jsonvec.errors.JsonvecError`. A path given as a number, a codebook given as a
string, a batch of records given as one string would otherwise fail deep inside with a
``TypeError`` or ``AttributeError`` (or, worse, mean something else: a string is an iterable
of characters). These helpers turn such arguments into an
:class:`~jsonvec.errors.ArgumentError` naming the parameter, or the error of the domain
(``EncodeError`` for records, ``SearchError`` for queries) saying how to pass one record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.errors import ArgumentError, JsonvecError

PathLike = str | os.PathLike[str]


def kind(value: object) -> str:
    """A value's type, as messages name it."""
    return type(value).__name__


def path(value: object, name: str) -> str:
    """A path given as ``str`` or ``os.PathLike[str]``."""
    if isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
        text = os.fspath(value)
        if isinstance(text, str) and text:
            return text
    raise ArgumentError(f"{name} must be a path (str or pathlib.Path), not {_shown(value)}")


def optional_path(value: object, name: str) -> str | None:
    """A path, or None."""
    return None if value is None else path(value, name)


def paths(value: object, name: str) -> list[str]:
    """One path, or a list or tuple of paths (at least one)."""
    if isinstance(value, list | tuple):
        if not value:
            raise ArgumentError(f"{name} must name at least one path, not an empty {kind(value)}")
        return [path(item, f"each of {name}") for item in value]
    return [path(value, name)]


def integer(value: object, name: str, minimum: int | None = None) -> int:
    """An integer (not a bool), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ArgumentError(f"{name} must be an integer, not {_shown(value)}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ArgumentError(f"{name} must be at least {minimum}, not {number}")
    return number


def optional_integer(value: object, name: str, minimum: int | None = None) -> int | None:
    """An integer, or None."""
    return None if value is None else integer(value, name, minimum)


def text(value: object, name: str) -> str:
    """A string."""
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be a string, not {_shown(value)}")
    return value


def optional_text(value: object, name: str) -> str | None:
    """A string, or None."""
    return None if value is None else text(value, name)


def flag(value: object, name: str) -> bool:
    """True or False (numpy's bools too)."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentError(f"{name} must be True or False, not {_shown(value)}")
    return bool(value)


def choice(value: object, name: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        raise ArgumentError(f"{name} must be {allowed}, not {_shown(value)}")
    return value


def instance(value: object, name: str, cls: type[Any], what: str) -> Any:
    """An instance of ``cls`` (``what`` names it in the message), or None."""
    if value is not None and not isinstance(value, cls):
        raise ArgumentError(f"{name} must be {what} or None, not {_shown(value)}")
    return value


def batch(
    values: object, name: str, call: str, error: type[JsonvecError] = ArgumentError
) -> list[Any]:
    """The records of a batch: any iterable of them, but not a ``str``, ``bytes`` or mapping,
    which are one record each (``call`` shows how to pass one: ``encode_batch([record])``)."""
    if isinstance(values, str | bytes | bytearray | Mapping):
        parts = "keys" if isinstance(values, Mapping) else "characters"
        raise error(
            f"{name} is a batch of records, and a {kind(values)} is one record (as a batch, "
            f"each of its {parts} would be one): pass {call}"
        )
    if not isinstance(values, Iterable) or (isinstance(values, np.ndarray) and values.ndim == 0):
        raise error(f"{name} must be an iterable of records (a list), not {_shown(values)}")
    return values if isinstance(values, list) else list(values)


def matrix(
    value: object, name: str, dim: int, error: type[JsonvecError] = ArgumentError
) -> NDArray[np.float32]:
    """Vectors given as one of shape (dim,) or a matrix of shape (n, dim): float32, 2-D,
    finite; ``error`` for anything else."""
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} must be an array of numbers, not {_shown(value)}") from exc
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise error(f"{name} must be one vector or a matrix, not of shape {array.shape}")
    if array.shape[1] != dim:
        raise error(f"{name} have dim {array.shape[1]}, the vectors have dim {dim}")
    if not np.isfinite(array).all():
        raise error(f"{name} hold NaN or infinite values")
    return array


def _shown(value: object) -> str:
    """A wrong value in a message: its type, and the value when it is short."""
    shown = repr(value)
    return f"{kind(value)} {shown}" if len(shown) <= 40 else kind(value)
