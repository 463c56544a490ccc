"""CRC-32 of vectors, computed in pieces: by batch, in worker processes, joined in order."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    index = 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def _combine(first: int, second: int, length: int) -> int:
    """zlib's crc32_combine in Python (used where the compiled core is not built)."""
    if length <= 0:
        return first
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if length & 1:
            first = _gf2_times(even, first)
        length >>= 1
        if length == 0:
            break
        odd = _gf2_square(even)
        if length & 1:
            first = _gf2_times(odd, first)
        length >>= 1
        if length == 0:
            break
    return first ^ second


_compiled_combine: Callable[[int, int, int], int] | None
try:
    from jsonvec.storage._checksum import crc32_combine as _compiled_combine
except ImportError:
    _compiled_combine = None


def combine(first: int, second: int, length: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)``.

    >>> a, b = b"jsonvec ", b"vectors"
    >>> combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    True
    """
    if _compiled_combine is not None:
        return int(_compiled_combine(first, second, length))
    return _combine(first, second, length)


def extend(crc: int, data: Any, known: int | None = None) -> int:
    """``crc`` extended by ``data`` (a buffer), from ``known``, its own CRC-32, if given."""
    if known is None:
        return zlib.crc32(data, crc)
    return combine(crc, known, memoryview(data).nbytes)
