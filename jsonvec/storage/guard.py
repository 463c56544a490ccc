"""The one guard of every file a run writes: nothing it writes is something it reads.

``jsonvec encode same.jsonl -o same.jsonl`` would replace the input by vectors, ``jsonvec
index build v.npy -o v.npy.ids`` the ids beside the vectors, ``jsonvec codebook fit data.jsonl
-o data.jsonl`` the data by a codebook. Every command and library call that writes files
names them all to :func:`check_files` before it reads or writes anything: what it reads
(inputs, vectors files with their sidecars and manifests, codebooks) and what it writes
(outputs with their sidecars, rejects, summaries, stdout). It refuses, with one line:

- a file written that is a file read (an input, or a sidecar of one), or another file
  written;
- a file to write in a folder that does not exist, that cannot be written, or at a path that
  is a folder.

Files are compared by what they are, not by how they are spelled: an existing file by device
and inode (so a hard link, a symlink or ``./x`` is caught), a file still to be written by its
resolved path. stdin and stdout (``-``) take part when they are regular files (``< x.jsonl``,
``>> x.jsonl``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jsonvec.errors import UsageError

STDIO = "-"


@dataclass(frozen=True)
class Named:
    """A file a run reads or writes, with the role it plays in messages (``input``, ``ids
    file``...); ``folder`` marks an output that is a folder (of parts), created if needed."""

    role: str
    path: str
    folder: bool = False


def reads(paths: Iterable[str | os.PathLike[str]], role: str = "input") -> list[Named]:
    """Files read, all in one role."""
    return [Named(role, os.fspath(path)) for path in paths]


def _identity(path: str, fd: int | None = None) -> tuple[object, ...] | None:
    """What makes a file itself: (device, inode) if it exists, else its resolved path."""
    try:
        info = os.fstat(fd) if fd is not None else os.stat(path)
    except FileNotFoundError:
        return None if fd is not None else ("path", os.path.realpath(path))
    except OSError:
        return None
    if fd is not None and not stat.S_ISREG(info.st_mode):
        return None  # a pipe or a terminal cannot be clobbered
    return ("inode", info.st_dev, info.st_ino)


def _describe(named: Named, reading: bool) -> str:
    if named.path == STDIO:
        return "stdin" if reading else "stdout"
    return f"{named.role} {named.path}"


def check_files(read: Sequence[Named], written: Sequence[Named]) -> None:
    """Refuse, with a :class:`UsageError`, a run that would write over what it reads.

    ``read`` names every file the run reads (``-`` for stdin), sidecars included; ``written``
    every file it writes (``-`` for stdout), sidecars included. Raises when a written file is
    a read one or another written one, or cannot be written where it is named.
    """
    seen: dict[tuple[object, ...], tuple[Named, bool]] = {}
    for named in read:
        key = _identity(named.path, 0 if named.path == STDIO else None)
        if key is not None:
            seen.setdefault(key, (named, True))
    for named in written:
        if named.path != STDIO:
            _check_place(named)
        key = _identity(named.path, 1 if named.path == STDIO else None)
        if key is None:
            continue
        earlier = seen.get(key)
        if earlier is not None:
            other, was_read = earlier
            what = "would overwrite" if was_read else "is the same file as"
            noun = "output" if named.path == STDIO else named.role
            raise UsageError(
                f"{_describe(named, False)} {what} {_describe(other, was_read)}: "
                f"give the {noun} another name"
            )
        seen[key] = (named, False)


def _check_place(named: Named) -> None:
    """A file can be written at ``named.path``: its folder exists and takes new files, and
    it is not itself a folder (a folder output is created with its parents)."""
    path = Path(named.path)
    if named.folder:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{named.role} {path}: not a folder")
        return
    if path.is_dir():
        raise UsageError(f"{named.role} {path} is a folder: name a file")
    folder = path.parent
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"{named.role} {path}: cannot write there, {folder}/ {reason}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{named.role} {path}: cannot write there, {folder}/ is not writable")
