"""What a vectors file or folder holds, in one summary: rows, dim, dtype, codebook, encoding
rules, ids, records, parts, bytes on disk, and the state of its checksums (``jsonvec info``,
:meth:`jsonvec.Vectors.info`).
"""

from __future__ import annotations

import os
from typing import Any

from jsonvec.errors import JsonvecError
from jsonvec.storage import verified
from jsonvec.storage.collection import Collection
from jsonvec.storage.vector_files import VectorFile
from jsonvec.version import ENCODING

#: what the checksum state words mean
CHECKSUM_STATES = {
    "verified": "every vector's CRC-32 matched, and no file changed since",
    "unverified": "CRC-32 stored; not read in full since the files were written or changed",
    "none": "no CRC-32 stored (JSON Lines, or files of jsonvec 0.2)",
}


def summary(collection: Collection, name: str, *, check: bool = False) -> dict[str, Any]:
    """The summary of ``collection`` (opened from ``name``), JSON-ready.

    ``check`` reads every vector first, so that the checksum state is that of now; a
    checksum that does not match raises :class:`~jsonvec.errors.VectorsError` naming the file.
    """
    files = collection.files
    if check:
        for _ in collection.chunks():
            pass
    params = next((f.params for f in files if f.params is not None), None)
    return {
        "path": name,
        "folder": os.path.isdir(name),
        "parts": len(files),
        "formats": sorted({f.path.suffix for f in files}),
        "rows": collection.count,
        "dim": collection.dim,
        "dtype": _one({f.dtype for f in files}),
        "codebook": collection.fingerprint,
        "codebook_params": params,
        "encoding": ENCODING,
        "id_type": _one({f.id_type for f in files}),
        "records": collection.has_records,
        "bytes": sum(_size(path) for f in files for _, path in f.read_paths()),
        "checksum": _checksum(files, checked=check),
    }


def failure(name: str, exc: JsonvecError) -> dict[str, Any]:
    """The summary of what cannot be read: its name and what is wrong with it."""
    return {"path": name, "error": str(exc)}


def _checksum(files: list[VectorFile], *, checked: bool) -> str:
    states = set()
    for file in files:
        if file.crc32 is None:
            states.add("none")
            continue
        if checked:  # read in full just now, and every sum matched
            states.add("verified")
            continue
        seen = verified.identity(file.path)
        known = seen is not None and verified.known(seen, file.crc32)
        states.add("verified" if known else "unverified")
    if "unverified" in states:
        return "unverified"
    return "verified" if "verified" in states else "none"


def _one(kinds: set[str]) -> str:
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _size(path: os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
