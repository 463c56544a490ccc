"""Reductions whose result is the same on every machine.

jsonvec promises bit-identical vectors from the same codebook on every machine. Element-wise
IEEE-754 operations (``+ - * / sqrt``) are correctly rounded everywhere, but BLAS dot products
and numpy's SIMD reductions sum in an order that depends on the CPU and the library build.
So every sum over a vector's coordinates goes through :func:`sum_last`, a fixed binary tree of
element-wise additions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Float64Array = NDArray[np.float64]


def sum_last(x: Float64Array) -> Float64Array:
    """Sum over the last axis in a fixed pairwise order.

    Parameters
    ----------
    x : ndarray of shape (..., n), float64

    Returns
    -------
    ndarray of shape (...), float64

    >>> float(sum_last(np.array([1.0, 2.0, 3.0])))
    6.0
    """
    width = x.shape[-1]
    padded = 1 << max(width - 1, 0).bit_length()
    if padded != width:
        pad = [(0, 0)] * (x.ndim - 1) + [(0, padded - width)]
        x = np.pad(x, pad)
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        x = x[..., :half] + x[..., half:]
    return x[..., 0]


def norm(x: Float64Array) -> Float64Array:
    """Euclidean norm over the last axis, reproducible bit for bit.

    >>> float(norm(np.array([3.0, 4.0])))
    5.0
    """
    return np.sqrt(sum_last(x * x))


def normalize(x: Float64Array) -> Float64Array:
    """Scale each vector (last axis) to unit length; zero vectors stay zero.

    Parameters
    ----------
    x : ndarray of shape (..., dim), float64

    Returns
    -------
    ndarray of shape (..., dim), float64
    """
    n = norm(x)
    safe = np.where(n > 0.0, n, 1.0)
    return x / safe[..., np.newaxis]
