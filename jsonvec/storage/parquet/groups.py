"""Columns of Python values in Arrow files, one record batch per group, read back a group at
a time; and one column of a Parquet file as Python values.

The shuffle of ``--skip-existing`` on a cluster (:mod:`jsonvec.dask.existing`) passes ids
between its tasks in these files.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

#: the kinds of column a group file may hold
_TYPES = {"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_()}


def write_groups(
    sink: io.IOBase, kinds: Mapping[str, str], groups: Iterable[Mapping[str, Sequence[Any]]]
) -> None:
    """Write each group (a list of values per column of ``kinds``) as one record batch.

    >>> import io
    >>> sink = io.BytesIO()
    >>> write_groups(sink, {"id": "string", "row": "int64"}, [{"id": ["a"], "row": [3]}])
    >>> read_group(io.BytesIO(sink.getvalue()), 0)
    {'id': ['a'], 'row': [3]}
    """
    schema = pa.schema([pa.field(name, _TYPES[kind]) for name, kind in kinds.items()])
    with pa.ipc.new_file(sink, schema) as writer:
        for group in groups:
            arrays = [pa.array(group[name], type=_TYPES[kind]) for name, kind in kinds.items()]
            writer.write_batch(pa.record_batch(arrays, schema=schema))


def read_group(source: io.IOBase, index: int) -> dict[str, list[Any]]:
    """Group ``index`` of a file :func:`write_groups` wrote: a list of values per column."""
    return pa.ipc.open_file(source).get_batch(index).to_pydict()


def column_values(source: IO[bytes], name: str) -> list[Any]:
    """Column ``name`` of a Parquet file, as Python values in row order."""
    return pq.read_table(source, columns=[name]).column(name).to_pylist()
