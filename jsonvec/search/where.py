"""Filters on hits: ``similar --where PATH=VALUE`` keeps records that hold VALUE at PATH.

Exact when the records are stored (``encode --keep-records``): each record's values at PATH
are compared with VALUE (JSON equality: ``1`` equals ``1.0``, ``true`` is not ``1``).

Decoded from the vectors otherwise (:mod:`jsonvec.encoding.probe`): a record holds VALUE when the
cosine of its vector unbound at PATH with VALUE's vector passes ``DECODE_SPREADS / sqrt(dim)``. A
record of n leaves gives its own value about ``1/sqrt(n)``, an absent value scores noise of spread
``1/sqrt(dim)``: 4 spreads lets through about 3 records in 100,000 that do not hold the value, and
keeps a held value while ``sqrt(dim / n)`` is well above 4 (measured precision and recall in
docs/partial.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.encoding.encoder import Encoder
from jsonvec.encoding.leaves import LeafCoder
from jsonvec.encoding.probe import unbind_each
from jsonvec.errors import WhereError
from jsonvec.records.paths import Segment, format_path, parse_path, values_at

DECODE_SPREADS = 4.0


@dataclass(frozen=True)
class Condition:
    """Hold ``value`` at ``path``."""

    path: tuple[Segment, ...]
    value: Any

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``PATH=VALUE``; VALUE is JSON when it parses (``age=31``, ``ok=true``,
        ``name="31"``), else the text itself (``city=Paris``).

        >>> Condition.parse("user.age=31"), Condition.parse("city=New York").value
        (Condition(path=('user', 'age'), value=31), 'New York')
        """
        path_text, sep, value_text = text.partition("=")
        if not sep or not path_text:
            raise WhereError(f"{text!r}: give PATH=VALUE, as in city=Paris or age=31")
        try:
            value = orjson.loads(value_text)
        except orjson.JSONDecodeError:
            value = value_text
        return cls(parse_path(path_text), value)

    def __str__(self) -> str:
        return f"{format_path(self.path)}={orjson.dumps(self.value).decode()}"


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``), booleans only with booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def exact_mask(conditions: Sequence[Condition], records: Iterable[Any]) -> NDArray[np.bool_]:
    """Which records hold every condition's value: shape (n_records,)."""
    return np.fromiter(
        (
            all(any(same(c.value, v) for v in values_at(r, c.path)) for c in conditions)
            for r in records
        ),
        dtype=bool,
    )


def decoded_mask(
    conditions: Sequence[Condition],
    chunks: Iterable[tuple[int, NDArray[np.float32]]],
    codebook: Codebook,
) -> NDArray[np.bool_]:
    """Which records' vectors decode to every condition's value at its path."""
    values = [c.value for c in conditions]
    wanted = Encoder(codebook).encode_batch(values)
    exact = exact_atoms(values, codebook)
    floor = DECODE_SPREADS / math.sqrt(codebook.dim)
    parts = []
    for _, block in chunks:
        keep = np.ones(len(block), dtype=bool)
        for condition, leaf, atom in zip(conditions, wanted, exact, strict=True):
            best = np.zeros(len(block), dtype=bool)
            for unbound in unbind_each(block, condition.path, codebook):
                norms = np.linalg.norm(unbound, axis=1)
                held = unbound @ leaf
                found = held >= floor * np.where(norms > 0, norms, 1.0)
                if atom is not None:
                    found &= _exact_agrees(unbound, leaf, atom, held)
                best |= found
            keep &= best
        parts.append(keep)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def exact_atoms(values: Sequence[Any], codebook: Codebook) -> list[NDArray[np.int64] | None]:
    """For each string value, the coordinates of the atom of its exact text (the part of its
    leaf that no other string shares); None for other values, which are graded on purpose."""
    strings = [v for v in values if isinstance(v, str)]
    table = LeafCoder.of(codebook).strings(strings) if strings else None
    out: list[NDArray[np.int64] | None] = []
    k = min(codebook.settings.atom_nonzeros, codebook.dim)
    row = 0
    for value in values:
        if not isinstance(value, str) or table is None:
            out.append(None)
            continue
        start = int(table.ptr[row])
        out.append(table.positions[start : start + k])  # the exact atom comes first
        row += 1
    return out


def _exact_agrees(
    unbound: NDArray[np.float32],
    leaf: NDArray[np.float32],
    atom: NDArray[np.int64],
    held: NDArray[np.float32],
) -> NDArray[np.bool_]:
    """Whether each row holds the string itself and not one that shares its n-grams and
    position trace: a row holding ``c · leaf`` has ``x_j / leaf_j = c`` at every coordinate of
    the exact atom; one holding a similar string has noise there. The median of those ratios
    must reach half the projection ``c`` (``held``)."""
    ratios = unbound[:, atom] / leaf[atom]
    return np.asarray(np.median(ratios, axis=1) >= 0.5 * held)
