"""Leaf vectors: "soft" codes for strings and numbers, atoms for true, false and null.

Every leaf vector is unit length. Similar values give similar vectors:

- a string is its exact atom plus a bundle of its character n-grams plus a bundle of its
  words, so ``"Jonathan"`` is close to ``"Johnathan"`` and far from ``"Paris"``;
- a number is a graded code of its magnitude (anchors every few octaves, linearly mixed) plus
  its exact atom, so 100 is close to 101, less close to 150, far from 10⁶, at any scale, while
  two ids that differ by one still get different vectors.

All arithmetic here is element-wise IEEE arithmetic, exact integer counting or
:mod:`jsonvec.stable` reductions, so a leaf vector is the same on every machine.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from jsonvec.atoms import atom, bundle
from jsonvec.errors import EncodeError
from jsonvec.settings import Settings
from jsonvec.stable import normalize

Vector = NDArray[np.float64]

#: Atom symbols of the values that are not strings or numbers.
CONSTANTS = {"true", "false", "null", "{}", "[]"}

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_START, _END = "\x02", "\x03"


def fold_case(text: str) -> str:
    """Lower-case ASCII letters only: the result must not depend on Python's Unicode tables.

    >>> fold_case("Élan PARIS")
    'Élan paris'
    """
    return text.translate(_ASCII_LOWER)


def ngrams(text: str, n: int) -> list[str]:
    """Character n-grams of ``text`` padded with start and end marks.

    >>> ngrams("abc", 3)
    ['\\x02ab', 'abc', 'bc\\x03']
    """
    padded = _START + text + _END
    if len(padded) <= n:
        return [padded]
    return [padded[i : i + n] for i in range(len(padded) - n + 1)]


def _mix(parts: list[tuple[float, Vector]]) -> Vector:
    """Unit-length weighted sum of unit (or zero) vectors."""
    total = np.zeros_like(parts[0][1])
    for weight, vector in parts:
        if weight > 0.0:
            total = total + weight * vector
    return normalize(total)


def string_vector(text: str, seed: int, dim: int, settings: Settings) -> Vector:
    """The leaf vector of a string: shape (dim,), float64, unit length."""
    folded = fold_case(text)
    grams = ngrams(folded[: settings.ngram_max_chars], settings.ngram)
    words = folded.split()
    # one normalisation call for both bundles: rows are reduced independently, same bits
    gram_bundle, word_bundle = normalize(
        np.stack([bundle(seed, "gram", grams, dim), bundle(seed, "word", words, dim)])
    )
    return _mix(
        [
            (settings.string_exact_weight, atom(seed, "str", text, dim)),
            (settings.string_ngram_weight, gram_bundle),
            (settings.string_word_weight, word_bundle),
        ]
    )


def number_text(x: int | float) -> str:
    """The canonical text of a number: ``1``, ``1.0`` and ``-0.0`` read ``1``, ``1``, ``0``.

    >>> [number_text(v) for v in (1, 1.0, -0.0, 0.5, 1e300)]
    ['1', '1', '0', '0.5', '1e+300']
    """
    if isinstance(x, int):
        return str(x)
    if x.is_integer() and abs(x) < 2.0**63:
        return str(int(x))
    return repr(x)


def log2_magnitude(m: int | float) -> float:
    """A piecewise-linear log2 of ``m > 0``, exact at powers of two, from IEEE operations only.

    ``m = f·2^e`` with ``f`` in [0.5, 1) gives ``e - 2 + 2f``: continuous, increasing, and
    within 0.09 of ``log2(m)``. Integers too large for a float are handled exactly.

    >>> [log2_magnitude(v) for v in (1, 2, 3, 0.25)]
    [0.0, 1.0, 1.5, -2.0]
    """
    try:
        fraction, exponent = math.frexp(float(m))
    except OverflowError:
        assert isinstance(m, int)
        exponent = m.bit_length()
        fraction = (m >> (exponent - 53)) / 2.0**53
    return exponent - 2 + 2.0 * fraction


def _level(seed: int, kind: str, width: float, t: float, dim: int) -> Vector:
    """Graded code of ``t`` (not yet normalised): anchors every ``width`` units, mixed linearly."""
    u = t / width
    k = math.floor(u)
    f = u - k
    low = atom(seed, kind, f"{width!r}/{k}", dim)
    high = atom(seed, kind, f"{width!r}/{k + 1}", dim)
    return (1.0 - f) * low + f * high  # normalised by the caller, all levels at once


def number_vector(x: int | float, seed: int, dim: int, settings: Settings) -> Vector:
    """The leaf vector of a number: shape (dim,), float64, unit length."""
    if isinstance(x, float) and not math.isfinite(x):
        raise EncodeError(f"cannot encode the number {x!r}")
    exact = atom(seed, "num", number_text(x), dim)
    if x == 0:
        graded = atom(seed, "num0", "", dim)
    else:
        kind = "lvl+" if x > 0 else "lvl-"
        t = log2_magnitude(abs(x))
        widths = settings.number_level_widths
        levels = normalize(np.stack([_level(seed, kind, w, t, dim) for w in widths]))
        graded = _mix(list(zip(settings.number_level_weights, levels, strict=True)))
    return _mix([(1.0, graded), (settings.number_exact_weight, exact)])


def constant_vector(name: str, seed: int, dim: int) -> Vector:
    """The atom of ``true``, ``false``, ``null`` or an empty ``{}`` / ``[]``."""
    if name not in CONSTANTS:
        raise ValueError(f"not a constant: {name!r}")
    return atom(seed, "const", name, dim)
