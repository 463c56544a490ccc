"""Reading and writing codebook files.

A codebook file is a zip archive holding one JSON manifest, ``jsonvec-codebook.json``, with the
parameters (format version, dim, seed, matrix family, settings), their fingerprint and the
jsonvec version that wrote it. Zip gives a CRC-32 per member, so a damaged file is caught; the
fingerprint is recomputed on load, so an edited one is too. Files are byte-identical for equal
parameters (fixed timestamps), and the archive leaves room for arrays in later formats.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from typing import Any

import orjson

from jsonvec._utils import arguments
from jsonvec._utils.atomic import AtomicFile
from jsonvec.codebook.codebook import FORMAT, Codebook
from jsonvec.codebook.settings import Settings
from jsonvec.errors import ArgumentError, CodebookError
from jsonvec.version import __version__

MANIFEST = "jsonvec-codebook.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_codebook(codebook: Codebook, path: str | os.PathLike[str]) -> None:
    """Write ``codebook`` to ``path`` atomically (a few hundred bytes: its parameters).

    Parameters
    ----------
    codebook : Codebook
    path : path of the file, by convention ``NAME.jvc``

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "book.jvc"
    >>> save_codebook(Codebook(dim=512, seed=7), path)
    >>> load_codebook(path) == Codebook(dim=512, seed=7)
    True
    """
    if not isinstance(codebook, Codebook):
        raise ArgumentError(f"codebook must be a Codebook, not {type(codebook).__name__}")
    path = arguments.path(path, "path")
    manifest = {
        **codebook.params(),
        "fingerprint": codebook.fingerprint,
        "written_by": f"jsonvec {__version__}",
    }
    body = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    info = zipfile.ZipInfo(MANIFEST, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    with AtomicFile(path) as out, zipfile.ZipFile(out.file, "w") as archive:
        archive.writestr(info, body)


def load_codebook(path: str | os.PathLike[str]) -> Codebook:
    """Read a codebook file.

    Parameters
    ----------
    path : path of a file written by :func:`save_codebook` or ``jsonvec codebook new``

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        For a missing, damaged, edited or newer-format file, in one line naming it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "book.jvc"
    >>> save_codebook(Codebook(seed=3), path)
    >>> load_codebook(path).seed
    3
    """
    path = arguments.path(path, "path")
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CodebookError(source, f"cannot read codebook: {exc.strerror}") from exc
    manifest = _read_manifest(source, data)
    return _from_manifest(source, manifest)


def _read_manifest(source: str, data: bytes) -> dict[str, Any]:
    if not data.startswith(b"PK\x03\x04"):
        raise CodebookError(source, "not a jsonvec codebook file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if MANIFEST not in archive.namelist():
                raise CodebookError(source, "not a jsonvec codebook file (no manifest)")
            body = archive.read(MANIFEST)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise CodebookError(source, f"codebook file is truncated or corrupted ({exc})") from exc
    except zipfile.LargeZipFile as exc:  # pragma: no cover - needs a >2 GiB file
        raise CodebookError(source, "codebook file is too large") from exc
    try:
        manifest = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CodebookError(source, "codebook manifest is corrupted") from exc
    if not isinstance(manifest, dict):
        raise CodebookError(source, "codebook manifest is corrupted")
    return manifest


def _from_manifest(source: str, manifest: dict[str, Any]) -> Codebook:
    version = manifest.get("format")
    if not isinstance(version, int):
        raise CodebookError(source, "codebook manifest has no format version")
    if version > FORMAT:
        raise CodebookError(
            source,
            f"codebook format {version} is newer than this jsonvec reads ({FORMAT}); "
            "upgrade jsonvec",
        )
    if version < FORMAT:
        raise CodebookError(
            source,
            f"codebook format {version} defines vectors this jsonvec no longer computes; "
            "make a new codebook (jsonvec codebook new) and re-encode",
        )
    if manifest.get("dtype") != "float32":
        raise CodebookError(source, f"unsupported vector dtype {manifest.get('dtype')!r}")
    try:
        codebook = Codebook(
            dim=manifest["dim"],
            seed=manifest["seed"],
            settings=Settings.from_dict(manifest.get("settings", {})),
            family=manifest["family"],
        )
    except KeyError as exc:
        raise CodebookError(source, f"codebook manifest lacks {exc.args[0]!r}") from exc
    except CodebookError as exc:
        raise CodebookError(source, exc.problem) from exc
    if manifest.get("fingerprint") != codebook.fingerprint:
        raise CodebookError(source, "codebook is corrupted: fingerprint does not match contents")
    return codebook
