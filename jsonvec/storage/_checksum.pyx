# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False, embedsignature=True
"""CRC-32 joined in C: the CRC of two byte strings end to end from theirs (zlib's
``crc32_combine``), for :mod:`jsonvec.storage.checksum`."""

from libc.stdint cimport int64_t, uint64_t


cdef uint64_t _gf2_times(uint64_t* matrix, uint64_t vector) noexcept nogil:
    cdef uint64_t total = 0
    while vector:
        if vector & 1:
            total ^= matrix[0]
        vector >>= 1
        matrix += 1
    return total


cdef void _gf2_square(uint64_t* square, uint64_t* matrix) noexcept nogil:
    cdef int n
    for n in range(32):
        square[n] = _gf2_times(matrix, matrix[n])


def crc32_combine(uint64_t first, uint64_t second, int64_t length):
    """The CRC-32 of two byte strings end to end, from the CRC-32 of each and the second's
    length (zlib's crc32_combine): workers checksum their batches, the writer joins them."""
    cdef uint64_t even[32]
    cdef uint64_t odd[32]
    cdef uint64_t row = 1
    cdef int n
    if length <= 0:
        return first
    odd[0] = 0xEDB88320
    for n in range(1, 32):
        odd[n] = row
        row <<= 1
    _gf2_square(even, odd)
    _gf2_square(odd, even)
    while True:
        _gf2_square(even, odd)
        if length & 1:
            first = _gf2_times(even, first)
        length >>= 1
        if length == 0:
            break
        _gf2_square(odd, even)
        if length & 1:
            first = _gf2_times(odd, first)
        length >>= 1
        if length == 0:
            break
    return first ^ second
