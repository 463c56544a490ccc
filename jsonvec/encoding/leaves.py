"""Leaf vectors: "soft" codes for strings and numbers, atoms for true, false and null.

Similar values give similar vectors:

- a string is its exact atom plus a bundle of its character n-grams plus a bundle of its
  words, so ``"Jonathan"`` is close to ``"Johnathan"`` and far from ``"Paris"``;
- a number is a graded code of its magnitude (anchors every few octaves, linearly mixed) plus
  its exact atom, so 100 is close to 101, less close to 150, far from 10⁶, at any scale, while
  two ids that differ by one still get different vectors.

A leaf vector is a weighted sum of atoms. Each part is scaled by its expected norm (distinct
atoms are nearly orthogonal), so a leaf vector is unit length in expectation; only the
record's final vector is normalised exactly. Leaves are built many at once: the strings (or
numbers) of a whole batch go through a few numpy passes, and the result is a
:class:`LeafTable` holding each leaf's sparse entries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.atoms import atom_entries
from jsonvec.codebook.hashing import (
    GOLDEN,
    code_points,
    hash_ints,
    hash_texts,
    hash_windows,
    kind_key,
    mix,
    starts_of,
)
from jsonvec.codebook.settings import Settings
from jsonvec.errors import EncodeError

if TYPE_CHECKING:
    from jsonvec.codebook.codebook import Codebook

Int64Array = NDArray[np.int64]
Float64Array = NDArray[np.float64]

#: Atom symbols of the values that are not strings or numbers.
CONSTANTS = ("true", "false", "null", "{}", "[]")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_START, _END = "\x02", "\x03"
_EXACT_FLOAT = 2**53  # integers up to this size are exact as float64
_ANCHOR_LEVEL_SHIFT = np.uint64(48)
_ANCHOR_OFFSET = 2**47
_CELL_SHIFT = np.uint64(21)  # code points are below 2**21
#: The weight of each of the two atoms of a character at an odd place (unit length in all).
TAP = 0.5 / math.sqrt(0.5)


@dataclass(frozen=True)
class LeafTable:
    """Sparse leaf vectors: leaf ``i`` has entries ``ptr[i]:ptr[i + 1]``.

    Attributes
    ----------
    ptr : ndarray of shape (n + 1,), int64
    positions : ndarray of shape (nnz,), int64, coordinates in ``[0, dim)``
    values : ndarray of shape (nnz,), float64
    """

    ptr: Int64Array
    positions: Int64Array
    values: Float64Array

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def dense(self, i: int, dim: int) -> Float64Array:
        """Leaf ``i`` as a dense vector: shape (dim,), float64."""
        part = slice(self.ptr[i], self.ptr[i + 1])
        out: Float64Array = np.bincount(
            self.positions[part], weights=self.values[part], minlength=dim
        ).astype(np.float64)
        return out


def constant_name(value: object) -> str:
    """The atom name of ``true``, ``false``, ``null``, ``{}`` or ``[]``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "{}" if isinstance(value, dict) else "[]"


@dataclass(frozen=True)
class LeafCoder:
    """Builds leaf tables for one codebook's seed, dimension and settings.

    >>> from jsonvec.codebook.codebook import Codebook
    >>> coder = LeafCoder.of(Codebook(dim=64))
    >>> coder.strings(["Paris"]).dense(0, 64).shape
    (64,)
    """

    seed: int
    dim: int
    settings: Settings

    @classmethod
    def of(cls, codebook: Codebook) -> LeafCoder:
        """The leaf coder of ``codebook``'s parameters."""
        return cls(codebook.seed, codebook.dim, codebook.settings)

    def strings(self, texts: Sequence[str]) -> LeafTable:
        """Leaf vectors of strings."""
        s = self.settings
        key = self._key
        n = len(texts)
        folded = [fold_case(t) for t in texts]
        cut = s.ngram_max_chars
        padded = [_START + (f if len(f) <= cut else f[:cut]) + _END for f in folded]
        gram_owner, gram_hash = hash_windows(padded, s.ngram, key("gram"))
        word_lists = [f.split() for f in folded]
        words = [w for ws in word_lists for w in ws]
        word_counts = np.fromiter(map(len, word_lists), dtype=np.int64, count=n)
        word_owner = np.repeat(np.arange(n, dtype=np.int64), word_counts)
        gram_counts = np.bincount(gram_owner, minlength=n).astype(np.float64)
        first_words = [ws[: s.position_words] for ws in word_lists]
        traced = [w for ws in first_words for w in ws]
        traced_owner = np.repeat(
            np.arange(n, dtype=np.int64),
            np.fromiter(map(len, first_words), dtype=np.int64, count=n),
        )
        trace = _PositionTrace.of(traced, s.position_chars, key("pos<"), key("pos>"))
        trace_owner = traced_owner[trace.owners]
        trace_norm = _trace_norms(trace_owner, trace.hashes, trace.taps == 1.0, n)

        exact_w, gram_w, word_w, place_w = (
            s.string_exact_weight,
            s.string_ngram_weight,
            s.string_word_weight,
            s.string_position_weight,
        )
        has_words = word_counts > 0
        first = exact_w * exact_w + gram_w * gram_w  # in this order, as the core adds them
        total = first + np.where(has_words, word_w * word_w, 0.0)
        total = total + np.where(trace_norm > 0.0, place_w * place_w, 0.0)
        scale = 1.0 / np.sqrt(total)
        safe_words = np.where(has_words, word_counts, 1).astype(np.float64)
        safe_norm = np.where(trace_norm > 0.0, trace_norm, 1.0)
        pieces = s.piece_nonzeros
        return self._table(
            n,
            [
                _Part(
                    np.arange(n, dtype=np.int64),
                    hash_texts(texts, key("str")),
                    exact_w * scale,
                    s.atom_nonzeros,
                ),
                _Part(
                    gram_owner,
                    gram_hash,
                    (gram_w * scale / np.sqrt(gram_counts))[gram_owner],
                    pieces,
                ),
                _Part(
                    word_owner,
                    hash_texts(words, key("word")),
                    (word_w * scale / np.sqrt(safe_words))[word_owner],
                    pieces,
                ),
                _Part(
                    trace_owner,
                    trace.hashes,
                    (place_w * scale / safe_norm)[trace_owner] * trace.taps,
                    pieces,
                ),
            ],
        )

    def numbers(self, numbers: Sequence[int | float]) -> LeafTable:
        """Leaf vectors of numbers; raises :class:`EncodeError` for NaN and infinities."""
        n = len(numbers)
        x, t, exact_hash = self._number_parts(numbers)
        s = self.settings
        key = self._key
        rows = np.arange(n, dtype=np.int64)
        zero = x == 0.0
        nonzero = np.flatnonzero(~zero)
        e = s.number_exact_weight
        part = 1.0 / math.sqrt(1.0 + e * e)
        exact_k, anchor_k = s.number_exact_nonzeros, s.number_anchor_nonzeros
        zeros = int(zero.sum())
        parts = [
            _Part(rows, exact_hash, np.full(n, e * part), exact_k),
            _Part(rows[zero], hash_ints(np.zeros(zeros, np.uint64), key("num0")), part, exact_k),
        ]
        sign_key = np.where(x[nonzero] > 0.0, key("lvl+"), key("lvl-")).astype(np.uint64)
        for level, (width, weight) in enumerate(level_weights(s)):
            u = t[nonzero] / width
            cell = np.floor(u)
            f = u - cell
            norm = np.sqrt((1.0 - f) * (1.0 - f) + f * f)
            anchor = (cell.astype(np.int64) + _ANCHOR_OFFSET).astype(np.uint64)
            anchor ^= np.uint64(level) << _ANCHOR_LEVEL_SHIFT
            for symbol, coef in ((anchor, 1.0 - f), (anchor + np.uint64(1), f)):
                parts.append(
                    _Part(nonzero, hash_ints(symbol, sign_key), weight * coef / norm, anchor_k)
                )
        return self._table(n, parts)

    def constants(self, names: Sequence[str]) -> LeafTable:
        """Leaf vectors of ``true``, ``false``, ``null``, ``{}`` and ``[]`` (by name)."""
        for name in names:
            if name not in CONSTANTS:
                raise ValueError(f"not a constant: {name!r}")
        rows = np.arange(len(names), dtype=np.int64)
        hashes = hash_texts(names, self._key("const"))
        return self._table(len(names), [_Part(rows, hashes, 1.0, self.settings.atom_nonzeros)])

    def _key(self, kind: str) -> np.uint64:
        return kind_key(self.seed, kind)

    def _number_parts(
        self, numbers: Sequence[int | float]
    ) -> tuple[Float64Array, Float64Array, NDArray[np.uint64]]:
        """Each number as float64, its piecewise-linear log2 magnitude and its exact hash."""
        huge = [
            i
            for i, v in enumerate(numbers)
            if isinstance(v, int) and not -_EXACT_FLOAT <= v <= _EXACT_FLOAT
        ]
        if huge:
            numbers = list(numbers)
            big = {i: numbers[i] for i in huge}
            for i in huge:
                numbers[i] = 1.0  # placeholder, replaced below
        x = np.array(numbers, dtype=np.float64).reshape(len(numbers))
        bad = ~np.isfinite(x)
        if bad.any():
            raise EncodeError(f"cannot encode the number {numbers[int(np.argmax(bad))]!r}")
        x = x + 0.0  # -0.0 becomes 0.0: equal numbers share their exact atom
        fraction, exponent = np.frexp(np.abs(x))
        t = exponent.astype(np.float64) - 2.0 + 2.0 * fraction
        exact_hash = hash_ints(x.view(np.uint64), self._key("num"))
        if huge:
            self._huge_parts(big, x, t, exact_hash)
        return x, t, exact_hash

    def _huge_parts(
        self,
        big: dict[int, int | float],
        x: Float64Array,
        t: Float64Array,
        exact_hash: NDArray[np.uint64],
    ) -> None:
        """Fill in integers beyond 2**53: magnitude from their bits, exact atom from the float
        that equals them, else from their 64-bit words (:func:`integer_hash`)."""
        for i, value in big.items():
            assert isinstance(value, int)
            x[i] = 1.0 if value > 0 else -1.0
            t[i] = log2_magnitude(abs(value))
            try:
                exact = float(value) == value
            except OverflowError:
                exact = False
            if exact:
                bits = np.array([float(value)], dtype=np.float64)
                exact_hash[i] = hash_ints(bits.view(np.uint64), self._key("num"))[0]
            else:
                exact_hash[i] = integer_hash(value, self._key("numint"))

    def _table(self, n: int, parts: list[_Part]) -> LeafTable:
        """Gather the parts' atom entries leaf by leaf (part by part within a leaf)."""
        counts = [np.bincount(p.owners, minlength=n) * p.entries(self.dim) for p in parts]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sum(counts), out=ptr[1:])
        positions = np.empty(int(ptr[-1]), dtype=np.int64)
        values = np.empty(int(ptr[-1]), dtype=np.float64)
        before = ptr[:-1].copy()  # where each leaf's entries of the next part start
        for part, count in zip(parts, counts, strict=True):
            k = part.entries(self.dim)
            pos, val = atom_entries(part.hashes, self.dim, k)
            val *= np.broadcast_to(part.coefs, part.owners.shape)[:, np.newaxis]
            # a part lists its atoms leaf by leaf: entry j of owner o goes after o's earlier parts
            first = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(count, out=first[1:])
            rank = np.arange(pos.size, dtype=np.int64) - np.repeat(first[part.owners], k)
            dest = np.repeat(before[part.owners], k) + rank
            positions[dest] = pos.ravel()
            values[dest] = val.ravel()
            before += count
        return LeafTable(ptr, positions, values)


@dataclass(frozen=True)
class _Part:
    """Atoms of one kind in many leaves: owner leaf (ascending), hash, coefficient, nonzeros."""

    owners: Int64Array
    hashes: NDArray[np.uint64]
    coefs: Float64Array | float
    nonzeros: int

    def entries(self, dim: int) -> int:
        return min(self.nonzeros, dim)


@dataclass(frozen=True)
class _PositionTrace:
    """Which character stands where, in the first and last ``reach`` characters of each word.

    A character ``c`` at place ``i`` (0-based, counted from the start, and again from the end
    with the other key) is the atom of ``(c, i / 2)`` when ``i`` is even, and the mean of the
    atoms of ``(c, (i - 1) / 2)`` and ``(c, (i + 1) / 2)`` (each ``TAP``, unit length in
    all) when it is odd: the linear code of the numbers, with cells two places wide. A
    character moved by one place keeps a cosine of ``TAP`` ≈ 0.71 with itself, one replaced
    keeps nothing, so a swap of neighbours or a shift by an insertion costs less than a
    substitution, as in an edit distance (docs/method.md, "Strings").
    """

    owners: Int64Array  # the text of each atom, ascending
    hashes: NDArray[np.uint64]
    taps: Float64Array  # 1.0 or TAP

    @classmethod
    def of(
        cls, texts: Sequence[str], reach: int, first: np.uint64, last: np.uint64
    ) -> _PositionTrace:
        codes, lengths = code_points(texts)
        starts = starts_of(lengths)
        span = np.minimum(lengths, reach)
        # one row per traced character: its text, its end (from the start or the end), place
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), 2 * span)
        within = np.arange(len(owner), dtype=np.int64) - np.repeat(starts_of(2 * span), 2 * span)
        from_end = within >= span[owner]
        place = np.where(from_end, within - span[owner], within)
        at = np.where(from_end, starts[owner] + lengths[owner] - 1 - place, starts[owner] + place)
        # one atom for an even place, two for an odd one
        odd = place & 1
        taps = 1 + odd
        atom_owner = np.repeat(owner, taps)
        second = np.arange(len(atom_owner), dtype=np.int64) - np.repeat(starts_of(taps), taps)
        place_t, odd_t = np.repeat(place, taps), np.repeat(odd, taps)
        cell = (place_t - odd_t) // 2 + second
        symbols = np.repeat(codes[at], taps) | (cell.astype(np.uint64) << _CELL_SHIFT)
        keys = np.where(np.repeat(from_end, taps), last, first).astype(np.uint64)
        return cls(atom_owner, hash_ints(symbols, keys), np.where(odd_t == 1, TAP, 1.0))


def _trace_norms(
    owners: Int64Array, hashes: NDArray[np.uint64], full: NDArray[np.bool_], n: int
) -> Float64Array:
    """The norm of each text's trace, its repeated symbols counted (the same character at the
    same place of several words adds up): ``sqrt(A + 2·TAP·B + TAP²·C)`` with ``A = Σ a²``,
    ``B = Σ a·b``, ``C = Σ b²`` over its distinct symbols, ``a`` and ``b`` the symbol's atoms
    of weight 1 and ``TAP``. Integer sums first: the same bits in any order (the core's)."""
    norms = np.zeros(n, dtype=np.float64)
    if not len(owners):
        return norms
    order = np.lexsort((hashes, owners))
    o, h, f = owners[order], hashes[order], full[order]
    new = np.ones(len(o), dtype=bool)
    new[1:] = (o[1:] != o[:-1]) | (h[1:] != h[:-1])
    group = np.cumsum(new) - 1
    a = np.bincount(group, weights=f).astype(np.int64)
    b = np.bincount(group, weights=~f).astype(np.int64)
    owner = o[new]
    big_a = np.bincount(owner, weights=a * a, minlength=n).astype(np.int64)
    big_b = np.bincount(owner, weights=a * b, minlength=n).astype(np.int64)
    big_c = np.bincount(owner, weights=b * b, minlength=n).astype(np.int64)
    squares = big_a.astype(np.float64) + (2.0 * TAP) * big_b.astype(np.float64)
    squares = squares + (TAP * TAP) * big_c.astype(np.float64)
    return np.sqrt(squares)


def level_weights(settings: Settings) -> list[tuple[float, float]]:
    """Each graded number level's width and weight in the leaf: ``number_level_weights``
    scaled so the graded code and the exact atom have unit norm together. Sums in one fixed
    order (the core takes these values as they are)."""
    e = settings.number_exact_weight
    part = 1.0 / math.sqrt(1.0 + e * e)
    total = 0.0
    for weight in settings.number_level_weights:
        total = total + weight * weight
    graded = part / math.sqrt(total)
    return [
        (width, graded * weight)
        for width, weight in zip(
            settings.number_level_widths, settings.number_level_weights, strict=True
        )
    ]


def integer_hash(value: int, key: np.uint64) -> np.uint64:
    """The exact symbol of an integer that no float64 equals: its magnitude's 64-bit words and
    its sign (any size; nothing goes through decimal digits, so no limit of Python's on them
    applies)."""
    magnitude = abs(value)
    count = max(1, (magnitude.bit_length() + 63) // 64)
    words = np.frombuffer(magnitude.to_bytes(8 * count, "little"), dtype="<u8").astype(np.uint64)
    steps = np.arange(1, count + 1, dtype=np.uint64) * GOLDEN
    terms = mix(mix(words ^ key) + steps)
    total = np.zeros(1, dtype=np.uint64)
    for term in terms:  # wrapping sums of 64-bit words: exact in any order
        total += term
    sign = np.uint64(1 << 63) if value < 0 else np.uint64(0)
    tail = mix(np.array([np.uint64(count) ^ key ^ sign], dtype=np.uint64))
    return np.uint64(mix(total ^ tail)[0])


def fold_case(text: str) -> str:
    """Lower-case ASCII letters only: the result must not depend on Python's Unicode tables.

    >>> fold_case("Élan PARIS")
    'Élan paris'
    """
    return text.translate(_ASCII_LOWER)


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


def string_vector(text: str, seed: int, dim: int, settings: Settings) -> Float64Array:
    """The leaf vector of one string, dense: shape (dim,), float64."""
    return LeafCoder(seed, dim, settings).strings([text]).dense(0, dim)


def number_vector(x: int | float, seed: int, dim: int, settings: Settings) -> Float64Array:
    """The leaf vector of one number, dense: shape (dim,), float64."""
    return LeafCoder(seed, dim, settings).numbers([x]).dense(0, dim)


def constant_vector(name: str, seed: int, dim: int, settings: Settings) -> Float64Array:
    """The atom of ``true``, ``false``, ``null`` or an empty ``{}`` / ``[]``, dense."""
    return LeafCoder(seed, dim, settings).constants([name]).dense(0, dim)
