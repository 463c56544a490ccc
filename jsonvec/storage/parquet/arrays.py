"""Arrow arrays built straight from their buffers, and the table of a set of vectors.

``pa.array(values)`` first asks whether ``values`` is a pandas object, which imports pandas
where it is installed: 0.18-0.21 s measured here, paid by every ``jsonvec encode`` to
Parquet. These builders make the same arrays without asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import orjson
import pyarrow as pa
from numpy.typing import NDArray

from jsonvec.storage.layout import ID_COLUMN, METADATA_KEY, RECORD_COLUMN, VECTOR_COLUMN

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


def id_array(ids: Sequence[Any]) -> pa.Array[Any]:
    """Ids as one Arrow column: integers, or text (ids of mixed kinds as JSON text).

    >>> id_array([1, 2]).type, id_array(["a", 3]).to_pylist()
    (DataType(int64), ['a', '3'])
    """
    if all(type(i) is int for i in ids) and all(-(2**63) <= i < 2**63 for i in ids):
        return int64_array(ids)
    return string_array([i if isinstance(i, str) else orjson.dumps(i).decode() for i in ids])


def vectors_table(
    ids: Sequence[Any], vectors: NDArray[np.float32], records: Sequence[str] | None, metadata: bytes
) -> pa.Table:
    """Columns ``id``, ``vector`` (fixed-size lists of float32) and, given ``records`` (JSON
    texts), ``record``, with ``metadata`` under the vectors' metadata key."""
    flat = float32_array(np.ascontiguousarray(vectors).reshape(-1))
    columns = {
        ID_COLUMN: id_array(ids),
        VECTOR_COLUMN: pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
    }
    if records is not None:
        columns[RECORD_COLUMN] = string_array(records)
    return pa.table(columns).replace_schema_metadata({METADATA_KEY: metadata})
