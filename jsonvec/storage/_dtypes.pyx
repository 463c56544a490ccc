# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Stored vectors of a reduced type unpacked into float32 rows (jsonvec/storage/dtypes.py).

Both conversions are exact functions of the stored bytes, computed as the NumPy fallback in
dtypes.py computes them, so a machine without the compiled core reads the same floats.
"""

from libc.math cimport sqrt
from libc.stdint cimport int8_t, int32_t, int64_t, uint16_t, uint32_t


cdef union _Bits:
    uint32_t u
    float f


def int8_rows(const int8_t[:, ::1] src, float[:, ::1] out):
    """Each row of ``src`` divided by its length (its integer sum of squares, exact) into ``out``."""
    cdef Py_ssize_t n = src.shape[0], dim = src.shape[1], i
    if n == 0 or dim == 0:
        return
    with nogil:
        for i in range(n):
            _int8_row(&src[i, 0], &out[i, 0], dim)


cdef inline void _int8_row(const int8_t* row, float* out, Py_ssize_t dim) noexcept nogil:
    cdef Py_ssize_t j, start
    cdef int64_t squares = 0
    cdef int32_t part
    cdef float scale
    # sums of at most 2**17 squares of |value| <= 128 fit in 32 bits: they vectorize
    for start in range(0, dim, 1 << 17):
        part = 0
        for j in range(start, min(dim, start + (1 << 17))):
            part += <int32_t>row[j] * <int32_t>row[j]
        squares += part
    scale = <float>(1.0 / sqrt(<double>squares)) if squares else 0.0
    for j in range(dim):
        out[j] = <float>row[j] * scale


def float16_rows(const uint16_t[:, ::1] src, float[:, ::1] out):
    """IEEE half-precision values (finite) widened exactly into ``out``."""
    cdef Py_ssize_t n = src.shape[0], dim = src.shape[1], i, j
    cdef uint32_t h
    cdef _Bits bits
    cdef float magic
    bits.u = (254 - 15) << 23  # 2**112: moves a half's exponent bias onto a float's
    magic = bits.f
    if n == 0 or dim == 0:
        return
    with nogil:
        for i in range(n):
            for j in range(dim):
                h = src[i, j]
                bits.u = (h & 0x7FFF) << 13
                bits.f = bits.f * magic
                bits.u = bits.u | ((h & 0x8000) << 16)
                out[i, j] = bits.f
