"""Reading record vectors back, field by field: unbind a path, then clean up against candidates.

A record vector is a sum of terms ``Q_path · leaf``, one per leaf, each role ``Q_path`` an
orthogonal signed permutation (:mod:`jsonvec.encoding.bind`). Applying the transpose of one path's
role (:func:`unbind`) turns that path's term back into its leaf vector and leaves every other term
scattered, as noise of spread about ``1/sqrt(dim)`` per other leaf's share; comparing the result
with the leaf vectors of candidate values (:func:`cleanup`) tells which value is there.

Paths are those of the codebook settings (:mod:`jsonvec.records.paths`): ``user.address.city``,
``tags[2]`` (an element by position), ``tags[]`` (the order-free copy of an ordered array's
scalar elements, or any element of an array the codebook treats as a set).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec._utils import arguments
from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.encoding.bind import SeqPowers, bind
from jsonvec.encoding.encoder import Encoder
from jsonvec.encoding.path_tree import SET, PathNode, PathTree
from jsonvec.errors import ProbeError
from jsonvec.records.paths import EVERY, Segment, format_path, parse_path


def role_of(
    path: str | Sequence[Segment], codebook: Codebook | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Where the role of ``path`` sends each coordinate, and the sign it gets there.

    Returns
    -------
    target : ndarray of shape (dim,), int64; ``(Q x)[target[j]] = sign[j] · x[j]``
    sign : ndarray of shape (dim,), float64, ±1
    """
    segments = parse_path(path) if isinstance(path, str) else tuple(path)
    return _role(segments, codebook or default_codebook())


@functools.lru_cache(maxsize=64)
def _role(
    segments: tuple[Segment, ...], book: Codebook
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    tree = PathTree(book)
    node: PathNode = tree.root
    powers: list[int] = []  # innermost first
    for at, segment in enumerate(segments):
        if isinstance(segment, int):
            if node.array_kind == SET:
                raise ProbeError(
                    f"{format_path(segments)}: {format_path(segments[:at]) or 'the record'} is "
                    "an array the codebook treats as a set: its elements have no position; "
                    "use [] instead of an index"
                )
            node = tree.item(node)
            powers.insert(0, segment + 1)
        elif segment == EVERY:
            last = at == len(segments) - 1
            if node.array_kind != SET and not last:
                raise ProbeError(
                    f"{format_path(segments)}: elements of an ordered array that are objects or "
                    "arrays are bound by their position only; name one, as in "
                    f"{format_path((*segments[:at], 0, *segments[at + 1 :]))}"
                )
            if node.array_kind != SET and book.settings.array_set_weight == 0.0:
                raise ProbeError(
                    f"{format_path(segments)}: this codebook keeps no order-free copy of array "
                    "elements (array_set_weight is 0); name an element by position"
                )
            node = tree.set_item(node)
        else:
            node = tree.key(node, segment)
    dim = book.dim
    positions = np.arange(dim, dtype=np.int64)
    ones = np.ones(dim, dtype=np.float64)
    table = np.tile(np.asarray(powers, dtype=np.int64), (dim, 1))
    steps = SeqPowers.of(book.role("seq"))
    target, sign = bind(node, positions, ones, table.reshape(dim, len(powers)), steps)
    return np.asarray(target, dtype=np.int64), np.asarray(sign, dtype=np.float64)


POSITIONS = 16  # elements of an ordered array read for ``items[].sku``
_MAX_PATHS = 256


def unbind(
    vectors: NDArray[np.floating],
    path: str | Sequence[Segment],
    codebook: Codebook | None = None,
    positions: int = POSITIONS,
) -> NDArray[np.float32]:
    """The leaf (or sub-record) vector at ``path``, read back from record vectors.

    Parameters
    ----------
    vectors : ndarray of shape (n, dim) or (dim,)
    path : str, e.g. ``"user.address.city"``, ``"tags[2]"``, ``"tags[]"``, ``"items[].sku"``
    codebook : Codebook, optional (default: the built-in one)
    positions : int
        For ``[]`` over an ordered array whose elements are objects or arrays
        (``items[].sku``): how many of its first elements to read. Such elements are bound by
        their position only, so the result is the sum over positions 0 … positions-1: the
        value of any of them shows, with crosstalk growing as ``sqrt(positions)``.

    Returns
    -------
    ndarray of the same shape, float32: ``Q_pathᵀ v`` for each row ``v``. For a record that
    holds a single leaf at ``path`` this is that leaf's vector exactly; otherwise the leaf's
    share plus the other terms' crosstalk.

    Examples
    --------
    >>> from jsonvec import encode
    >>> from jsonvec.encoding.probe import cleanup
    >>> record = encode({"user": {"city": "Oslo", "name": "Ann"}, "age": 31})
    >>> scores = cleanup(unbind(record, "user.city"), ["Paris", "Oslo", "Rome"])
    >>> ["Paris", "Oslo", "Rome"][int(scores.argmax())]
    'Oslo'
    """
    book = arguments.instance(codebook, "codebook", Codebook, "a Codebook") or default_codebook()
    segments = _segments(path)
    v = np.asarray(vectors, dtype=np.float32) if isinstance(vectors, np.ndarray) else None
    if v is None or v.shape[-1:] != (book.dim,) or v.ndim > 2:
        v = arguments.matrix(vectors, "vectors", book.dim, ProbeError)
    out = np.zeros_like(v)
    for concrete in _concrete(segments, book, positions):
        target, sign = _role(concrete, book)
        out += v[..., target] * sign.astype(np.float32)
    return out


def _segments(path: object) -> tuple[Segment, ...]:
    """A path given as text (``user.city``) or as segments."""
    if isinstance(path, str):
        return parse_path(path)
    if isinstance(path, tuple | list) and all(isinstance(s, str | int) for s in path):
        return tuple(path)
    raise ProbeError(f"path must be a path such as 'user.city', not {type(path).__name__}")


def check_path(path: str | Sequence[Segment], codebook: Codebook | None = None) -> None:
    """Raise :class:`ProbeError` if ``path`` cannot be read back from vectors of
    ``codebook`` (see :func:`role_of`)."""
    book = codebook or default_codebook()
    segments = parse_path(path) if isinstance(path, str) else tuple(path)
    _role(_concrete(segments, book, POSITIONS)[0], book)


def unbind_each(
    vectors: NDArray[np.floating],
    path: str | Sequence[Segment],
    codebook: Codebook | None = None,
    positions: int = POSITIONS,
) -> list[NDArray[np.float32]]:
    """:func:`unbind` once per concrete path: one array for most paths, one per position for
    ``items[].sku`` (rank values by their best position: the max of their cleanup scores)."""
    book = codebook or default_codebook()
    segments = parse_path(path) if isinstance(path, str) else tuple(path)
    v = np.asarray(vectors, dtype=np.float32)
    out = []
    for concrete in _concrete(segments, book, positions):
        target, sign = _role(concrete, book)
        out.append(np.asarray(v[..., target] * sign.astype(np.float32), dtype=np.float32))
    return out


def cleanup_best(
    vectors: NDArray[np.floating],
    path: str | Sequence[Segment],
    candidates: Sequence[Any],
    codebook: Codebook | None = None,
) -> NDArray[np.float32]:
    """Cosines of ``candidates`` with the vectors unbound at ``path``, the best over the
    positions ``[]`` stands for (see :func:`unbind_each`): shape (n, len(candidates))."""
    parts = [cleanup(u, candidates, codebook) for u in unbind_each(vectors, path, codebook)]
    best: NDArray[np.float32] = np.max(np.stack(parts), axis=0)
    return best


def _concrete(
    segments: tuple[Segment, ...], book: Codebook, positions: int
) -> list[tuple[Segment, ...]]:
    """``segments`` with every ``[]`` over an ordered array of containers (one not last)
    replaced by each of the first ``positions`` indices."""
    sets = {format_path(parse_path(p)) for p in book.settings.set_arrays}
    paths: list[tuple[Segment, ...]] = [()]
    for at, segment in enumerate(segments):
        generic = format_path(tuple(EVERY if isinstance(x, int) else x for x in segments[:at]))
        if segment == EVERY and at < len(segments) - 1 and generic not in sets:
            paths = [(*p, i) for p in paths for i in range(positions)]
            if len(paths) > _MAX_PATHS:
                raise ProbeError(
                    f"{format_path(segments)}: too many element positions to read "
                    f"({len(paths):,}); name some by position"
                )
        else:
            paths = [(*p, segment) for p in paths]
    return paths


def cleanup(
    unbound: NDArray[np.floating],
    candidates: Sequence[Any],
    codebook: Codebook | None = None,
) -> NDArray[np.float32]:
    """Cosines of unbound vectors with the vectors of candidate values.

    Parameters
    ----------
    unbound : ndarray of shape (n, dim), from :func:`unbind`
    candidates : sequence of JSON values (strings, numbers, true/false/null, sub-records)
    codebook : Codebook, optional

    Returns
    -------
    ndarray of shape (n, len(candidates)), float32; rank each row to read the value.
    """
    memory = Encoder(codebook).encode_batch(list(candidates))
    u = np.atleast_2d(np.asarray(unbound, dtype=np.float32))
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    unit = u / np.where(norms > 0, norms, 1.0)
    scores: NDArray[np.float32] = (unit @ memory.T).astype(np.float32)
    return scores


@dataclass(frozen=True)
class NumberEstimate:
    """A number read back from a vector, with the range of numbers that fit as well.

    ``low`` … ``high`` are the numbers whose vectors score within one noise spread
    (``1/sqrt(dim)``) of the best; ``score`` is the best cosine. ``support`` is that cosine
    without the share of its one largest coordinate: compare it with
    :func:`jsonvec.search.exact.noise_ceiling` (under it, there is likely no number there). A
    number's code spreads over ten entries; a vector that holds no number can still meet a
    large entry of another value at one coordinate (the sparse atoms of strings and numbers),
    which would lift the plain cosine alone.
    """

    value: float | int
    low: float
    high: float
    score: float
    support: float


_T_RANGE = (-40.0, 70.0)  # log2 magnitudes searched: about 1e-12 to 1e21
_COARSE = 1.0 / 16.0  # the finest level's anchor spacing (number_level_widths[0])
_FINE = 1.0 / 256.0
#: How many numbers the coarse search compares (for the noise ceiling of its best score).
GRID_SIZE = 2 * (round((_T_RANGE[1] - _T_RANGE[0]) / _COARSE) + 1) + 1


def _magnitude(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """The inverse of the encoder's piecewise-linear log2 magnitude."""
    exponent = np.floor(t) + 1.0
    fraction = (t - exponent + 2.0) / 2.0
    return np.asarray(np.ldexp(fraction, exponent.astype(np.int64)), dtype=np.float64)


@functools.lru_cache(maxsize=4)
def _grid(book: Codebook) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Numbers on a grid of magnitudes (both signs, and 0) and their vectors."""
    t = np.arange(_T_RANGE[0], _T_RANGE[1] + _COARSE / 2, _COARSE)
    magnitudes = _magnitude(t)
    numbers = np.concatenate([magnitudes, -magnitudes, [0.0]])
    return numbers, Encoder(book).encode_batch(numbers.tolist())


def estimate_numbers(
    unbound: NDArray[np.floating], codebook: Codebook | None = None
) -> list[NumberEstimate]:
    """The number each unbound vector most likely holds (see :class:`NumberEstimate`).

    A coarse search over magnitudes (the finest anchor spacing, both signs), a finer one
    around the best (1/256 of an octave, 0.27%), then the nearest integers, whose exact
    atoms score higher when the number is one.

    Parameters
    ----------
    unbound : ndarray of shape (n, dim), from :func:`unbind`
    codebook : Codebook, optional
    """
    book = codebook or default_codebook()
    encoder = Encoder(book)
    u = np.atleast_2d(np.asarray(unbound, dtype=np.float32))
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    unit = u / np.where(norms > 0, norms, 1.0)
    numbers, vectors = _grid(book)
    coarse = unit @ vectors.T
    spread = 1.0 / np.sqrt(book.dim)
    out = []
    for row in range(len(unit)):
        best = int(np.argmax(coarse[row]))
        if numbers[best] == 0.0:
            score = float(coarse[row, best])
            out.append(NumberEstimate(0, 0.0, 0.0, score, _support(unit[row], vectors[best])))
            continue
        sign = 1.0 if numbers[best] > 0 else -1.0
        t = _t_of(abs(numbers[best])) + np.arange(-2 * _COARSE, 2 * _COARSE + _FINE / 2, _FINE)
        fine_numbers = sign * _magnitude(t)
        fine_scores = encoder.encode_batch(fine_numbers.tolist()) @ unit[row]
        top = int(np.argmax(fine_scores))
        value: float | int = float(fine_numbers[top])
        score = float(fine_scores[top])
        fits = fine_numbers[fine_scores >= score - spread]
        low, high = float(fits.min()), float(fits.max())
        if abs(value) < 2.0**53:
            whole = [round(value) + d for d in (-1, 0, 1)]
            whole_scores = encoder.encode_batch(whole) @ unit[row]
            if float(whole_scores.max()) > score:
                value, score = whole[int(np.argmax(whole_scores))], float(whole_scores.max())
        if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**53:
            value = int(value)
        support = _support(unit[row], encoder.encode(value))
        low, high = min(low, float(value)), max(high, float(value))
        out.append(NumberEstimate(value, low, high, score, support))
    return out


def _support(unit: NDArray[np.float32], leaf: NDArray[np.float32]) -> float:
    """The cosine of ``unit`` and ``leaf`` without its largest single coordinate's share."""
    shares = unit.astype(np.float64) * leaf
    return float(shares.sum() - shares.max())


def _t_of(magnitude: float) -> float:
    """The encoder's piecewise-linear log2 of a positive magnitude."""
    fraction, exponent = math.frexp(magnitude)
    return exponent - 2.0 + 2.0 * fraction
