"""Arrow arrays built straight from their buffers.

``pa.array(values)`` first asks whether ``values`` is a pandas object, which imports pandas
where it is installed: 0.18-0.21 s measured here, paid by every ``jsonvec encode`` to
Parquet. These builders make the same arrays without asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

#: the largest total of bytes of a ``string`` array (its offsets are int32)
_STRING_BYTES = 2**31 - 1


def _buffer(data: object) -> pa.Buffer:
    return pa.py_buffer(cast(Any, data))


def float32_array(data: NDArray[np.float32]) -> pa.Array[Any]:
    """``data`` (1-D, float32, C-contiguous) as an Arrow array over the same memory.

    >>> float32_array(np.array([0.5, 2.0], dtype=np.float32)).to_pylist()
    [0.5, 2.0]
    """
    data = np.ascontiguousarray(data, dtype="<f4")
    return pa.Array.from_buffers(pa.float32(), len(data), [None, _buffer(data)])


def int64_array(values: Sequence[int]) -> pa.Array[Any]:
    """Python integers as an Arrow int64 array (OverflowError past int64).

    >>> int64_array([3, -1]).to_pylist()
    [3, -1]
    """
    data = np.array(values, dtype="<i8").reshape(-1)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, _buffer(data)])


def string_array(texts: Sequence[str]) -> pa.Array[Any]:
    """Python strings as an Arrow ``string`` array.

    >>> string_array(["a", "", "été"]).to_pylist()
    ['a', '', 'été']
    """
    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype="<i4")
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    if sizes.sum() > _STRING_BYTES:
        return pa.array(texts, type=pa.string())  # too big for one array: pyarrow chunks it
    np.cumsum(sizes, out=offsets[1:])
    data = _buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, _buffer(offsets), data])
