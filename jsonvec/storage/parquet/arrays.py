"""Arrow arrays built straight from their buffers, the vector column of each stored type,
and the table of a set of vectors.

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

from jsonvec.storage.dtypes import NUMPY, Dtype, of_numpy
from jsonvec.storage.layout import ID_COLUMN, METADATA_KEY, RECORD_COLUMN, VECTOR_COLUMN

#: the largest total of bytes of a ``string`` array (its offsets are int32)
_STRING_BYTES = 2**31 - 1


def _buffer(data: object) -> pa.Buffer:
    return pa.py_buffer(cast(Any, data))


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


def vector_type(dim: int, dtype: Dtype = "float32") -> pa.DataType:
    """The Arrow type of the vector column: ``fixed_size_list<float32 not null>[dim]``
    (``float16``: of ``halffloat``); for ``int8``, ``fixed_size_binary[dim]``, the row's
    bytes (Parquet has no one-byte integers: a list of int8 would take four bytes a value).
    """
    if dtype == "int8":
        return pa.binary(dim)
    item = pa.float32() if dtype == "float32" else pa.float16()
    return pa.list_(pa.field("item", item, nullable=False), dim)


def type_dtype(kind: pa.DataType) -> tuple[Dtype, int] | None:
    """The stored type and dim of a vector column of Arrow type ``kind``, or None."""
    if pa.types.is_fixed_size_binary(kind):
        return "int8", kind.byte_width
    if not pa.types.is_fixed_size_list(kind):
        return None
    if pa.types.is_float32(kind.value_type):
        return "float32", kind.list_size
    if pa.types.is_float16(kind.value_type):
        return "float16", kind.list_size
    return None


def vector_array(packed: NDArray[Any]) -> pa.Array[Any]:
    """Stored rows (n, dim) of a stored type (:mod:`jsonvec.storage.dtypes`) as a vector column
    over the same memory.

    >>> vector_array(np.array([[1, -2]], dtype=np.int8)).type
    FixedSizeBinaryType(fixed_size_binary[2])
    """
    data = np.ascontiguousarray(packed)
    rows, dim = data.shape
    dtype = of_numpy(data.dtype)
    if dtype is None:
        raise TypeError(f"vectors of type {data.dtype} are not stored")
    kind = vector_type(dim, dtype)
    if dtype == "int8":
        return pa.Array.from_buffers(kind, rows, [None, _buffer(data)])
    item = pa.float32() if dtype == "float32" else pa.float16()
    values = pa.Array.from_buffers(item, data.size, [None, _buffer(data)])
    return pa.FixedSizeListArray.from_arrays(values, type=cast(Any, kind))


def stored_rows(column: pa.Array[Any] | pa.ChunkedArray[Any], dim: int) -> NDArray[Any]:
    """A vector column's rows in their stored type: (n, dim) (a copy where Arrow's is not
    contiguous)."""
    chunks: list[Any] = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_stored(chunk, dim) for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    kind = type_dtype(column.type)
    empty = np.zeros((0, dim), dtype=NUMPY[kind[0] if kind else "float32"])
    return np.concatenate(parts) if parts else empty


def _stored(chunk: Any, dim: int) -> NDArray[Any]:
    if pa.types.is_fixed_size_binary(chunk.type):
        data = chunk.buffers()[1]
        flat = np.frombuffer(data, dtype=np.int8, count=len(chunk) * dim, offset=chunk.offset * dim)
        return flat.reshape(-1, dim)
    values = chunk.flatten().to_numpy(zero_copy_only=False)  # flatten: of a slice, its rows
    return np.asarray(values).reshape(-1, dim)


def vectors_table(
    ids: Sequence[Any], vectors: NDArray[np.float32], records: Sequence[str] | None, metadata: bytes
) -> pa.Table:
    """Columns ``id``, ``vector`` (fixed-size lists of float32) and, given ``records`` (JSON
    texts), ``record``, with ``metadata`` under the vectors' metadata key."""
    columns = {
        ID_COLUMN: id_array(ids),
        VECTOR_COLUMN: vector_array(np.ascontiguousarray(vectors, dtype="<f4")),
    }
    if records is not None:
        columns[RECORD_COLUMN] = string_array(records)
    return pa.table(columns).replace_schema_metadata({METADATA_KEY: metadata})
