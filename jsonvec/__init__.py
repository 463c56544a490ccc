"""jsonvec: JSON records to fixed-length vectors with MBAT and seeded orthogonal matrices.

The names below are imported when first used, so that a command or a worker process loads
only the modules it needs (Parquet support, for one, is a large import).
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from jsonvec.version import __version__

if TYPE_CHECKING:
    from jsonvec.codebook import Codebook, default_codebook
    from jsonvec.codebook_file import load_codebook, save_codebook
    from jsonvec.collection import Collection
    from jsonvec.encoder import Encoder, encode, encode_batch, iter_encode
    from jsonvec.errors import (
        AmbiguousIdError,
        AnnIndexError,
        ArgumentError,
        ClusterError,
        CodebookError,
        CodebookMismatchError,
        EncodeError,
        InputError,
        InvalidLineError,
        JsonvecError,
        MissingPathError,
        NotFoundError,
        OutputError,
        PathError,
        PipeClosedError,
        ProbeError,
        SearchError,
        TooManyInvalidError,
        UsageError,
        VectorsError,
        WhereError,
    )
    from jsonvec.hits import Hit
    from jsonvec.pipeline import EncodeSummary, encode_file
    from jsonvec.probe import unbind
    from jsonvec.search import CollectionSearch
    from jsonvec.settings import Settings
    from jsonvec.vectors import Vectors, load

_HOMES = {
    "Codebook": "jsonvec.codebook",
    "default_codebook": "jsonvec.codebook",
    "load_codebook": "jsonvec.codebook_file",
    "save_codebook": "jsonvec.codebook_file",
    "Collection": "jsonvec.collection",
    "Encoder": "jsonvec.encoder",
    "encode": "jsonvec.encoder",
    "encode_batch": "jsonvec.encoder",
    "iter_encode": "jsonvec.encoder",
    "encode_file": "jsonvec.pipeline",
    "EncodeSummary": "jsonvec.pipeline",
    "AmbiguousIdError": "jsonvec.errors",
    "AnnIndexError": "jsonvec.errors",
    "ArgumentError": "jsonvec.errors",
    "ClusterError": "jsonvec.errors",
    "CodebookError": "jsonvec.errors",
    "CodebookMismatchError": "jsonvec.errors",
    "EncodeError": "jsonvec.errors",
    "InputError": "jsonvec.errors",
    "InvalidLineError": "jsonvec.errors",
    "JsonvecError": "jsonvec.errors",
    "MissingPathError": "jsonvec.errors",
    "NotFoundError": "jsonvec.errors",
    "OutputError": "jsonvec.errors",
    "PathError": "jsonvec.errors",
    "PipeClosedError": "jsonvec.errors",
    "ProbeError": "jsonvec.errors",
    "SearchError": "jsonvec.errors",
    "TooManyInvalidError": "jsonvec.errors",
    "UsageError": "jsonvec.errors",
    "VectorsError": "jsonvec.errors",
    "WhereError": "jsonvec.errors",
    "unbind": "jsonvec.probe",
    "CollectionSearch": "jsonvec.search",
    "Hit": "jsonvec.hits",
    "Vectors": "jsonvec.vectors",
    "load": "jsonvec.vectors",
    "Settings": "jsonvec.settings",
}

#: names that moved: (where to find them now, module)
_DEPRECATED = {
    "Index": ("jsonvec.CollectionSearch", "jsonvec.search"),
    "SignedPermutation": ("jsonvec.roles.SignedPermutation", "jsonvec.roles"),
}

__all__ = [
    "AmbiguousIdError",
    "AnnIndexError",
    "ArgumentError",
    "ClusterError",
    "Codebook",
    "CodebookError",
    "CodebookMismatchError",
    "Collection",
    "CollectionSearch",
    "EncodeError",
    "EncodeSummary",
    "Encoder",
    "Hit",
    "InputError",
    "InvalidLineError",
    "JsonvecError",
    "MissingPathError",
    "NotFoundError",
    "OutputError",
    "PathError",
    "PipeClosedError",
    "ProbeError",
    "SearchError",
    "Settings",
    "TooManyInvalidError",
    "UsageError",
    "Vectors",
    "VectorsError",
    "WhereError",
    "__version__",
    "default_codebook",
    "encode",
    "encode_batch",
    "encode_file",
    "iter_encode",
    "load",
    "load_codebook",
    "save_codebook",
    "unbind",
]


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:  # moved or renamed; the old name stays for one release
        new, moved_to = _DEPRECATED[name]
        warnings.warn(
            f"jsonvec.{name} is deprecated and goes in the next release: use {new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(moved_to), new.rsplit(".", 1)[-1])
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jsonvec' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
