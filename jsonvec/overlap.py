"""Refusing runs whose outputs would overwrite their inputs or each other.

``jsonvec encode same.jsonl -o same.jsonl`` would replace the input by vectors; a rejects file
that is also an input, or the output itself, would lose data the same way. Files are compared
by what they are, not by how they are spelled: an existing file by device and inode (so a
hard link, a symlink or ``./x`` is caught), a file still to be written by its resolved path.
stdin and stdout take part when they are regular files (``< x.jsonl``, ``> x.jsonl``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from jsonvec.errors import UsageError

STDIO = "-"


@dataclass(frozen=True)
class Named:
    """A file a run reads or writes, with the role it plays in messages (``input``...)."""

    role: str
    path: str


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


def _describe(named: Named) -> str:
    if named.path == STDIO:
        return "stdin" if named.role == "input" else "stdout"
    return f"{named.role} {named.path}"


def check_distinct(inputs: Sequence[str], outputs: Sequence[Named]) -> None:
    """Raise :class:`UsageError` if an output is an input or another output.

    ``inputs`` are paths (``-`` for stdin); ``outputs`` name each file a run would write
    (``-`` for stdout), sidecars included.
    """
    seen: dict[tuple[object, ...], Named] = {}
    files = [Named("input", path) for path in inputs] + list(outputs)
    for named in files:
        fd = None if named.path != STDIO else (0 if named.role == "input" else 1)
        key = _identity(named.path, fd)
        if key is None:
            continue
        earlier = seen.get(key)
        if earlier is not None and named.role != "input":
            what = "would overwrite" if earlier.role == "input" else "is the same file as"
            raise UsageError(
                f"{_describe(named)} {what} {_describe(earlier)}: "
                f"give the {named.role} another name"
            )
        seen.setdefault(key, named)
