"""The MBAT record encoder: JSON value -> unit vector.

``enc({k: v, ...}) = Σ_k Q_k · enc(v) / sqrt(n)`` with one orthogonal role matrix per key name,
``enc([v0, v1, ...]) = Σ_i Q_seq^(i+1) · enc(v_i) / sqrt(n)`` for ordered arrays (``Q_set · Σ_i
enc(v_i)`` for arrays configured as sets), and soft leaf vectors for strings and numbers
(:mod:`jsonvec.encoding.leaves`). See ``docs/method.md``.

One algorithm, two speeds: the compiled core (``jsonvec/encoding/_core.pyx``, built at install when
a C compiler is there) and the reference in Python and numpy (:mod:`jsonvec.encoding.reference`,
built from :mod:`jsonvec.encoding.walk`, :mod:`jsonvec.encoding.path_tree`,
:mod:`jsonvec.encoding.bind` and :mod:`jsonvec.encoding.accumulate`). They give bit-identical
vectors; :class:`Encoder` uses the core when it is there.

Thread safety: an :class:`Encoder` may be used from several threads at once (each call has
buffers of its own; the path cache it shares only ever gains nodes or is replaced whole), so
:func:`encode` and :func:`encode_batch`, which share one encoder per codebook, are safe too.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec._utils import arguments
from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.encoding.reference import ReferenceEncoder
from jsonvec.errors import ArgumentError, EncodeError
from jsonvec.records.values import as_json

_Core: type[Any] | None
try:
    from jsonvec.encoding._core import CoreEncoder as _Core
except ImportError:  # built without a C compiler: the reference does the work
    _Core = None

#: Whether the compiled core is there.
COMPILED = _Core is not None


def implementation() -> str:
    """Which encoder this installation uses, in a few words (``jsonvec --version``)."""
    if COMPILED:
        return "compiled encoder"
    return (
        "pure-Python encoder: the compiled core was not built (no C compiler at install); "
        "same vectors, several times slower"
    )


class Encoder:
    """Encodes JSON values with one codebook.

    Parameters
    ----------
    codebook : Codebook, optional
        Defaults to :func:`jsonvec.codebook.codebook.default_codebook`.
    compiled : bool, optional
        Use the compiled core (True), the pure-Python reference (False), or the core when it
        is there (None, the default). The two give bit-identical vectors.
    """

    def __init__(self, codebook: Codebook | None = None, *, compiled: bool | None = None) -> None:
        arguments.instance(codebook, "codebook", Codebook, "a Codebook")
        if compiled is not None:
            arguments.flag(compiled, "compiled")
        self.codebook = codebook if codebook is not None else default_codebook()
        self.dim = self.codebook.dim
        self.compiled = COMPILED if compiled is None else compiled
        if self.compiled and _Core is None:
            raise ArgumentError("the compiled core is not built in this installation")
        self._impl: Any = (
            _Core(self.codebook) if _Core and self.compiled else (ReferenceEncoder(self.codebook))
        )

    def encode(self, value: Any) -> NDArray[np.float32]:
        """One record's vector: ndarray of shape (dim,), float32, unit length.

        >>> v = Encoder().encode({"city": "Paris"})
        >>> v.shape, v.dtype.name
        ((1024,), 'float32')
        """
        row: NDArray[np.float32] = self.encode_batch([value])[0]
        return row

    def encode_batch(self, values: Iterable[Any]) -> NDArray[np.float32]:
        """Vectors of many records: ndarray of shape (n_records, dim), float32, rows unit length.

        ``values`` is any iterable of records; records may hold the Python values
        :mod:`jsonvec.records.values` lists (numpy scalars and arrays, tuples, mappings, sequences).
        A ``str``, ``bytes`` or mapping is one record, not a batch: :class:`EncodeError`.
        """
        records = arguments.batch(values, "values", "encode_batch([record])", EncodeError)
        try:
            vectors: NDArray[np.float32] = self._impl.encode_batch(records)
        except EncodeError:
            # the fast path takes JSON's own types only: convert the others, then again
            converted = [as_json(record) for record in records]
            if all(a is b for a, b in zip(converted, records, strict=True)):
                raise
            vectors = self._impl.encode_batch(converted)
        return vectors

    def encode_into(self, values: Sequence[Any], out: NDArray[np.float32]) -> None:
        """Encode ``values`` into the first ``len(values)`` rows of ``out``.

        ``out`` : ndarray of shape (>= n_records, dim), float32, C-contiguous (shared memory
        will do: workers write there).
        """
        if self.compiled:
            self._impl.encode_into(values, out)
        else:
            out[: len(values)] = self._impl.encode_batch(values)


_encoders: weakref.WeakKeyDictionary[Codebook, Encoder] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def encoder_for(codebook: Codebook | None = None) -> Encoder:
    """A shared :class:`Encoder` for ``codebook`` (the default codebook if None)."""
    arguments.instance(codebook, "codebook", Codebook, "a Codebook")
    codebook = codebook if codebook is not None else default_codebook()
    with _lock:
        found = _encoders.get(codebook)
        if found is None:
            found = _encoders[codebook] = Encoder(codebook)
    return found


def encode(value: Any, codebook: Codebook | None = None) -> NDArray[np.float32]:
    """Encode one record.

    Parameters
    ----------
    value : any JSON value
        Usually a dict. A list is one record too (a JSON array), not many: use
        :func:`encode_batch` for many records. Numpy scalars and arrays, tuples and other
        mappings and sequences are taken as the JSON value they stand for
        (:mod:`jsonvec.records.values`; numpy float32 values are widened exactly).
    codebook : Codebook, optional
        Defaults to the built-in codebook (dim 1024, seed 0).

    Returns
    -------
    ndarray of shape (dim,), float32, unit length

    Raises
    ------
    EncodeError
        For a value JSON has no equivalent of, naming its path.

    Examples
    --------
    >>> a = encode({"name": "Jonathan", "age": 31})
    >>> b = encode({"age": 31, "name": "Jonathan"})
    >>> bool((a == b).all()), a.shape
    (True, (1024,))
    """
    return encoder_for(codebook).encode(value)


def encode_batch(values: Iterable[Any], codebook: Codebook | None = None) -> NDArray[np.float32]:
    """Encode many records at once.

    Parameters
    ----------
    values : iterable of records
        Any iterable: a list, a generator, a pandas Series of dicts. Each item is one record
        (which is why :func:`encode` of a list is one record and this is many).
    codebook : Codebook, optional
        Defaults to the built-in codebook (dim 1024, seed 0).

    Returns
    -------
    ndarray of shape (n_records, dim), float32, rows unit length; the same rows as
    ``jsonvec encode`` writes for the same records.

    Examples
    --------
    >>> vectors = encode_batch([{"city": "Paris"}, {"city": "Lyon"}])
    >>> vectors.shape, vectors.dtype.name
    ((2, 1024), 'float32')
    >>> bool((vectors[0] == encode({"city": "Paris"})).all())
    True
    """
    return encoder_for(codebook).encode_batch(values)


def iter_encode(
    values: Iterable[Any], codebook: Codebook | None = None, *, batch_size: int = 1024
) -> Iterator[NDArray[np.float32]]:
    """Encode a stream of records, ``batch_size`` at a time, holding one batch in memory.

    Parameters
    ----------
    values : iterable of records
        Read lazily, as the arrays are asked for.
    codebook : Codebook, optional
        Defaults to the built-in codebook (dim 1024, seed 0).
    batch_size : int
        Records per array (the last array may hold fewer).

    Yields
    ------
    ndarray of shape (<= batch_size, dim), float32: the vectors of the next records, in order

    Examples
    --------
    >>> stream = ({"n": i} for i in range(5))
    >>> [block.shape[0] for block in iter_encode(stream, batch_size=2)]
    [2, 2, 1]
    """
    arguments.integer(batch_size, "batch_size", 1)
    encoder = encoder_for(codebook)
    if isinstance(values, str | bytes | bytearray | Mapping):
        arguments.batch(values, "values", "iter_encode([record])", EncodeError)
    if not isinstance(values, Iterable):
        raise EncodeError(f"values must be an iterable of records, not {type(values).__name__}")
    iterator = iter(values)
    while batch := list(itertools.islice(iterator, batch_size)):
        yield encoder.encode_batch(batch)
