"""Records already in Dask (a bag, a DataFrame column) to vectors, on the workers.

Every worker process builds one encoder per codebook and keeps it (:func:`worker_encoder`),
so a worker encodes its partitions as ``jsonvec encode`` does in one process; the codebook
travels to the workers once per computation, as one shared task holding its parameters, not
once per partition. Vectors are bit-identical to :meth:`jsonvec.Encoder.encode_batch` for
any partitioning and any number of workers (every coordinate is an exact sum;
docs/method.md, "Reproducibility contract").
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.codebook.settings import Settings
from jsonvec.encoding.encoder import Encoder
from jsonvec.errors import ArgumentError, EncodeError

if TYPE_CHECKING:  # dask is an optional extra
    import dask.array
    import dask.bag
    import dask.dataframe

_ENCODERS: dict[bytes, Encoder] = {}
_LOCK = threading.Lock()


def worker_encoder(params: dict[str, Any]) -> Encoder:
    """This process's encoder for the codebook of ``params`` (one per worker process, kept).

    Codebooks travel as their parameters (plain JSON data: a few hundred bytes, and nothing
    that cannot be pickled), and each worker rebuilds the codebook once.
    """
    key = orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
    with _LOCK:
        found = _ENCODERS.get(key)
        if found is None:
            book = Codebook(
                dim=params["dim"],
                seed=params["seed"],
                settings=Settings.from_dict(params.get("settings", {})),
                family=params["family"],
            )
            found = _ENCODERS[key] = Encoder(book)
        return found


def encode_partition(records: Sequence[Any], params: dict[str, Any]) -> NDArray[np.float32]:
    """The vectors of one partition's records: shape (len(records), dim), float32.

    ``params`` are the codebook's (:meth:`jsonvec.Codebook.params`).

    >>> encode_partition([{"a": 1}, {"a": 2}], Codebook(dim=64).params()).shape
    (2, 64)
    """
    encoder = worker_encoder(params)
    if not records:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return encoder.encode_batch(list(records))


def encode_bag(bag: dask.bag.Bag, codebook: Codebook | None = None) -> dask.array.Array:
    """The vectors of a bag of JSON records, one block of rows per partition.

    Parameters
    ----------
    bag : dask.bag.Bag of JSON values (dicts, lists, strings, numbers, ...)
    codebook : Codebook, optional (default: the built-in one)

    Returns
    -------
    dask.array.Array of shape (n_records, dim), float32, chunked by partition (row counts
    unknown until computed, as for any bag).

    Examples
    --------
    ``dask.bag.read_text("logs/*.jsonl").map(orjson.loads)`` is a bag of records too.

    >>> import dask.bag, jsonvec
    >>> bag = dask.bag.from_sequence([{"a": 1}, {"a": 2}, {"b": 3}], npartitions=2)
    >>> vectors = encode_bag(bag).compute(scheduler="sync")
    >>> vectors.shape, bool((vectors == jsonvec.encode_batch(bag.compute())).all())
    ((3, 1024), True)
    """
    delayed: Any = importlib.import_module("dask.delayed").delayed  # the extra, untyped
    da: Any = importlib.import_module("dask.array")
    book = codebook or default_codebook()
    shared = delayed(book.params(), pure=True)  # one task for the codebook, shared by all
    parts: Any = bag.to_delayed()  # type: ignore[no-untyped-call]
    blocks = [
        da.from_delayed(
            delayed(encode_partition, pure=True)(part, shared),
            shape=(np.nan, book.dim),
            dtype=np.float32,
        )
        for part in parts
    ]
    if not blocks:
        empty: dask.array.Array = da.zeros((0, book.dim), dtype=np.float32)
        return empty
    joined: dask.array.Array = da.concatenate(blocks, axis=0, allow_unknown_chunksizes=True)
    return joined


def encode_column(
    column: dask.dataframe.Series,
    codebook: Codebook | None = None,
    *,
    input_type: Literal["json", "dict"] = "json",
) -> dask.dataframe.Series:
    """A column of vectors (each a float32 array of ``dim``) from a column of records.

    Parameters
    ----------
    column : dask.dataframe.Series of JSON text (``input_type="json"``, the default) or of
        parsed values, dicts and lists (``input_type="dict"``). A string is itself a JSON
        record, so the column's type is said, not guessed. Dask stores a column of Python
        objects as text unless ``dataframe.convert-string`` is off: a dict column in such
        text is refused.
    codebook : Codebook, optional (default: the built-in one)

    Returns
    -------
    dask.dataframe.Series, same index and partitions, object dtype (numpy arrays): assign
    it as a column, or stack it into a matrix.

    Examples
    --------
    >>> import dask.dataframe, pandas
    >>> texts = pandas.DataFrame({"payload": ['{"a": 1}', '{"a": 2}', '{"b": 3}']})
    >>> frame = dask.dataframe.from_pandas(texts, npartitions=2)
    >>> frame["vector"] = encode_column(frame["payload"])
    >>> frame.compute(scheduler="sync")["vector"].iloc[2].shape
    (1024,)
    """
    if input_type not in ("json", "dict"):
        raise ArgumentError(f"input_type must be 'json' or 'dict', not {input_type!r}")
    delayed: Any = importlib.import_module("dask.delayed").delayed
    book = codebook or default_codebook()
    shared = delayed(book.params(), pure=True)
    mapped: Any = column.map_partitions  # untyped in dask
    vectors: dask.dataframe.Series = mapped(
        _encode_series, shared, input_type, meta=(column.name, object)
    )
    return vectors


def _encode_series(series: Any, params: dict[str, Any], input_type: str) -> Any:
    """One partition of :func:`encode_column` (a pandas Series)."""
    pandas: Any = importlib.import_module("pandas")
    if input_type == "dict" and isinstance(series.dtype, pandas.StringDtype):
        raise EncodeError(
            f"column {series.name!r} holds text, not dicts: Dask turns objects into text "
            "unless dask.config.set({'dataframe.convert-string': False}); for JSON text, "
            "use input_type='json'"
        )
    values = list(series)
    if input_type == "json":
        try:
            values = [orjson.loads(v) for v in values]
        except orjson.JSONDecodeError as exc:
            raise EncodeError(f"column {series.name!r}: not JSON text: {exc}") from exc
    vectors = encode_partition(values, params)
    return pandas.Series(list(vectors), index=series.index, name=series.name, dtype=object)
