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
    from jsonvec.codebook.codebook import Codebook, default_codebook
    from jsonvec.codebook.files import load_codebook, save_codebook
    from jsonvec.codebook.settings import Settings
    from jsonvec.encoding.encoder import Encoder, encode, encode_batch, iter_encode
    from jsonvec.encoding.probe import unbind
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
    from jsonvec.run.encode_file import encode_file
    from jsonvec.run.options import EncodeSummary
    from jsonvec.search.exact import CollectionSearch
    from jsonvec.search.hits import Hit
    from jsonvec.search.similar import HitLists
    from jsonvec.search.vectors import Vectors, load
    from jsonvec.storage.collection import Collection

_HOMES = {
    "Codebook": "jsonvec.codebook.codebook",
    "default_codebook": "jsonvec.codebook.codebook",
    "load_codebook": "jsonvec.codebook.files",
    "save_codebook": "jsonvec.codebook.files",
    "Collection": "jsonvec.storage.collection",
    "Encoder": "jsonvec.encoding.encoder",
    "encode": "jsonvec.encoding.encoder",
    "encode_batch": "jsonvec.encoding.encoder",
    "iter_encode": "jsonvec.encoding.encoder",
    "encode_file": "jsonvec.run.encode_file",
    "EncodeSummary": "jsonvec.run.options",
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
    "unbind": "jsonvec.encoding.probe",
    "CollectionSearch": "jsonvec.search.exact",
    "Hit": "jsonvec.search.hits",
    "HitLists": "jsonvec.search.similar",
    "Vectors": "jsonvec.search.vectors",
    "load": "jsonvec.search.vectors",
    "Settings": "jsonvec.codebook.settings",
}

#: names that moved: (where to find them now, module)
_DEPRECATED = {
    "Index": ("jsonvec.CollectionSearch", "jsonvec.search.exact"),
    "SignedPermutation": ("jsonvec.codebook.roles.SignedPermutation", "jsonvec.codebook.roles"),
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
    "HitLists",
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
