"""The types vectors are stored in (``encode --dtype``): float32, float16, int8.

Vectors are encoded in float32 and unit length; a file may store them smaller:

- ``float32``: as encoded (4 bytes a value).
- ``float16``: IEEE half precision, rounded to nearest (2 bytes a value).
- ``int8``: each row scaled so that its largest magnitude is 127 and rounded to integers
  (1 byte a value). The scale is not stored: a record's vector is unit length, so a row is
  read back as its integers divided by their length (exact integer sum of squares), which is
  the direction the integers hold.

Readers unpack every stored row into float32 (:func:`unpack`), a few hundred rows at a time
so that what they score stays in the cache; the checksum of a file covers the bytes it
stores. The compiled kernels (``_dtypes.pyx``) and the NumPy fallback give the same floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from jsonvec.errors import ArgumentError

Dtype = Literal["float32", "float16", "int8"]
DTYPES: tuple[Dtype, ...] = get_args(Dtype)
DEFAULT: Dtype = "float32"
#: rows unpacked at a time: 256 rows of dim 1024 in float32 are 1 MB, a core's L2 cache
UNPACK_ROWS = 256

#: the NumPy type of each stored type, little-endian as the files hold it
NUMPY: dict[Dtype, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "int8": np.dtype("i1"),
}

_Kernel = Callable[[Any, Any], None]
_int8_rows: _Kernel | None
_float16_rows: _Kernel | None
try:
    from jsonvec.storage._dtypes import float16_rows as _float16_rows
    from jsonvec.storage._dtypes import int8_rows as _int8_rows
except ImportError:
    _int8_rows = _float16_rows = None


def dtype_named(name: str) -> Dtype:
    """``name`` as a stored type; :class:`ArgumentError` naming the choices if it is none.

    >>> dtype_named("int8")
    'int8'
    """
    if name not in DTYPES:
        raise ArgumentError(f"unknown dtype {name!r}: choose one of {', '.join(DTYPES)}")
    return name


def of_numpy(kind: np.dtype[Any]) -> Dtype | None:
    """The stored type a NumPy type is, or None."""
    for name, numpy_type in NUMPY.items():
        if kind == numpy_type:
            return name
    return None


def pack(vectors: NDArray[np.float32], dtype: Dtype) -> NDArray[Any]:
    """Float32 rows (n, dim) in the stored type: a new C-contiguous array.

    >>> pack(np.array([[0.6, -0.8]], dtype=np.float32), "int8")
    array([[  95, -127]], dtype=int8)
    """
    rows = np.asarray(vectors, dtype=np.float32)
    if dtype == "float32":
        return np.array(rows, dtype=NUMPY["float32"], order="C")
    if dtype == "float16":
        return np.ascontiguousarray(rows.astype(NUMPY["float16"]))
    largest = np.abs(rows).max(axis=1, keepdims=True) if rows.size else np.ones((len(rows), 1))
    largest = largest.astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.rint(rows / largest * np.float32(127.0))
    scaled[(largest == 0)[:, 0]] = 0.0
    return np.ascontiguousarray(np.clip(scaled, -127, 127).astype(NUMPY["int8"]))


def unpack(stored: NDArray[Any], out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """Stored rows (n, dim) as float32 rows, into ``out`` if given (shape (n, dim)).

    int8 rows come back divided by their length; float16 values widened exactly.

    >>> unpack(np.array([[3, -4]], dtype=np.int8))
    array([[ 0.6, -0.8]], dtype=float32)
    """
    target = np.empty(stored.shape, dtype=np.float32) if out is None else out
    kind = of_numpy(stored.dtype)
    if kind == "float32" or kind is None:
        np.copyto(target, stored, casting="same_kind" if kind is None else "no")
        return target
    source = np.ascontiguousarray(stored)
    if kind == "int8":
        if _int8_rows is not None and source.size:
            _int8_rows(source, target)
        else:
            _int8_numpy(source, target)
    elif _float16_rows is not None and source.size:
        _float16_rows(source.view(np.uint16), target)
    else:
        np.copyto(target, source, casting="safe")
    return target


def _int8_numpy(source: NDArray[np.int8], target: NDArray[np.float32]) -> None:
    """What ``_dtypes.int8_rows`` computes: the same floats (exact integer lengths; the
    scale rounded once from double, as the C code does)."""
    wide = source.astype(np.int64)
    squares = np.einsum("ij,ij->i", wide, wide)
    with np.errstate(divide="ignore"):
        scale = np.where(squares > 0, 1.0 / np.sqrt(squares.astype(np.float64)), 0.0)
    np.multiply(source, scale.astype(np.float32)[:, None], out=target, casting="unsafe")


def blocks(stored: NDArray[Any], rows: int = UNPACK_ROWS) -> Iterator[NDArray[np.float32]]:
    """``stored`` as float32 blocks of at most ``rows`` rows, in order (each a new array)."""
    for start in range(0, len(stored), rows):
        yield unpack(stored[start : start + rows])


def row_bytes(dim: int, dtype: Dtype) -> int:
    """Bytes one stored vector takes."""
    return dim * NUMPY[dtype].itemsize
