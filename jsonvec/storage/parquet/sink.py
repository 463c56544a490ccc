"""The Parquet vector output: row groups streamed into a file, written behind the encoding.

Its own module because pyarrow is a large import: runs that write ``.npy`` or JSON Lines,
and the worker processes, never load it. The layout is described in :mod:`jsonvec.storage.outputs`.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.behind import Behind
from jsonvec.errors import OutputError
from jsonvec.storage.checksum import extend
from jsonvec.storage.dtypes import dtype_named, pack
from jsonvec.storage.layout import (
    CRC_KEY,
    ID_COLUMN,
    METADATA_KEY,
    RECORD_COLUMN,
    VECTOR_COLUMN,
    IdKind,
)
from jsonvec.storage.parquet.arrays import (
    int64_array,
    stored_rows,
    string_array,
    vector_array,
    vector_type,
)
from jsonvec.storage.sink import Ids, failure_reason, write_error


class ParquetSink:
    """Streams row groups into a Parquet file.

    ``copy_from`` names a file whose rows are written first (``encode --append``); with
    ``names``, the file is put in place at commit under the first of them still free (a new
    part of a folder), and :attr:`path` becomes that name.
    """

    def __init__(
        self,
        path: str,
        dim: int,
        metadata: dict[str, Any],
        id_kind: IdKind,
        keep_records: bool = False,
        copy_from: Path | None = None,
        names: Iterator[Path] | None = None,
    ) -> None:
        self.dtype = dtype_named(metadata.get("dtype", "float32"))
        id_type = pa.int64() if id_kind == "int" else pa.string()
        fields = [
            pa.field(ID_COLUMN, id_type, nullable=False),
            pa.field(VECTOR_COLUMN, vector_type(dim, self.dtype), nullable=False),
        ]
        if keep_records:
            fields.append(pa.field(RECORD_COLUMN, pa.string(), nullable=False))
        self.schema = pa.schema(fields, metadata={METADATA_KEY: orjson.dumps(metadata)})
        self.keep_records = keep_records
        self.dim = dim
        self.path = Path(path)
        self.crc32 = 0  # of the vectors' data, stored in the file's metadata at commit
        self._names = names
        self._file = AtomicFile(path)
        self._behind = Behind()
        try:
            # Arrow writes through a file of its own, not a Python file object: a Python
            # object would hold the GIL for every write, and the writer thread must not
            self._native = pa.OSFile(self._file.reopened(), "wb")
            # dictionaries, statistics and compression of float vectors cost 40% of the
            # write time and save nothing: ids keep statistics, records are compressed
            self._writer = pq.ParquetWriter(
                self._native,
                self.schema,
                use_dictionary=False,
                write_statistics=[ID_COLUMN],
                compression={ID_COLUMN: "snappy", VECTOR_COLUMN: "none", RECORD_COLUMN: "snappy"},
                write_page_checksum=True,  # CRC-32 of every page, checked when read
            )
        except (OSError, pa.ArrowException) as exc:
            self._behind.cancel()
            self._file.abort()
            raise OutputError(f"{path}: cannot write: {failure_reason(exc)}") from exc
        if copy_from is not None:
            try:
                self._copy(copy_from)
            except BaseException:
                self.abort()
                raise

    def _copy(self, source: Path) -> None:
        """Write the row groups of an existing file first (``encode --append``)."""
        try:
            parquet = pq.ParquetFile(source)
            for i in range(parquet.num_row_groups):
                table = parquet.read_row_group(i).replace_schema_metadata(self.schema.metadata)
                if not table.schema.equals(self.schema):
                    raise OutputError(f"{source}: cannot append: its columns differ")
                stored = stored_rows(table.column(VECTOR_COLUMN), self.dim)
                self.crc32 = zlib.crc32(np.ascontiguousarray(stored).data, self.crc32)
                self._writer.write_table(table)
                self._file.sync_behind()
        except (OSError, pa.ArrowException) as exc:
            raise OutputError(f"{source}: cannot append: {exc}") from exc

    def write(
        self,
        ids: Ids,
        vectors: NDArray[np.float32],
        records: Sequence[str] | None = None,
        crc: int | None = None,
    ) -> None:
        data = pack(vectors, self.dtype)  # a copy: the caller reuses its own
        columns = [_id_array(ids, self.schema.field(ID_COLUMN).type), vector_array(data)]
        if self.keep_records:
            if records is None or len(records) != len(ids):
                raise ValueError("this sink keeps records: give one per row")
            columns.append(string_array(records))
        table = pa.Table.from_arrays(columns, schema=self.schema)
        known = crc if self.dtype == "float32" else None  # the caller's is of float32 data
        self._behind.submit(lambda: self._write(table, data, known))

    def _write(self, table: pa.Table, data: NDArray[Any], crc: int | None) -> None:
        """Write one batch and add it to the checksum (in the writer thread, behind the
        encoding, in batch order)."""
        self.crc32 = extend(self.crc32, data.data, crc)
        try:
            self._writer.write_table(table)
            self._file.sync_behind()
        except OSError as exc:
            raise write_error(self._file.path, exc) from exc

    def commit(self) -> None:
        try:
            self._behind.finish()
        except BaseException:
            self.abort()
            raise
        try:
            self._writer.add_key_value_metadata({CRC_KEY: str(self.crc32)})
            self._writer.close()
            self._native.close()
        except (OSError, pa.ArrowException) as exc:
            self._file.abort()
            raise OutputError(f"{self._file.path}: cannot write: {failure_reason(exc)}") from exc
        if self._names is None:
            self._file.commit()
        else:
            self.path = self._file.commit_new(self._names)

    def abort(self) -> None:
        self._behind.cancel()
        with contextlib.suppress(OSError, pa.ArrowException, AttributeError):
            self._writer.close()
        with contextlib.suppress(OSError, pa.ArrowException, AttributeError):
            self._native.close()
        self._file.abort()


def _id_array(ids: Ids, kind: pa.DataType) -> pa.Array[Any]:
    if kind == pa.int64():
        return int64_array(cast(Sequence[int], ids))
    return string_array(cast(Sequence[str], ids))
