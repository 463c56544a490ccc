"""Vectors files whose checksum passed, remembered by the file's identity until it changes.

Reading a vectors file in full compares the CRC-32 of its vectors with the one stored in it
(:meth:`jsonvec.storage.vector_files.VectorFile.chunks`). Computing it is most of an exact
search of a large file that is in memory already (4 GB at a million rows of dim 1,024), so a
file that passed is remembered, and later passes over it skip the sum while the file is the
same: the same device and inode, size, modification time and change time (``st_ctime``,
which no program can set back: any write to the file moves it), and the same stored checksum.
A file that changed in any way is checked again in full. A file changed less than
:data:`SETTLED_SECONDS` ago is not remembered: file times are kept to a clock tick of a few
milliseconds, so a write right after another might not move them (git's "racy" files).

The entries live in one small file, ``$JSONVEC_CACHE_DIR/verified-v1`` (by default
``$XDG_CACHE_HOME/jsonvec``, else ``~/.cache/jsonvec``), at most :data:`ENTRIES` of them, the
newest kept. ``JSONVEC_CACHE_DIR=""`` turns remembering off. A cache that cannot be read or
written is no error: every pass then checks in full, as without it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

#: the environment variable that moves the cache (an empty value turns it off)
CACHE_ENV = "JSONVEC_CACHE_DIR"
#: files remembered at most
ENTRIES = 4096
#: how long ago a file must have changed last to be remembered
SETTLED_SECONDS = 2.0
_NAME = "verified-v1"

#: device, inode, size, modification and change times (ns) of a file
Identity = tuple[int, int, int, int, int]


def identity(path: str | os.PathLike[str]) -> Identity | None:
    """What tells this file from any other, and from itself changed; None if it cannot be
    read."""
    try:
        s = os.stat(path)
    except OSError:
        return None
    return (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


def known(seen: Identity, crc: int) -> bool:
    """Whether a file of identity ``seen`` passed its checksum ``crc`` before."""
    return _key(seen, crc) in _entries()[1]


def remember(seen: Identity, crc: int) -> None:
    """Note that the file of identity ``seen`` passed its checksum ``crc``."""
    where = cache_file()
    if where is None or time.time_ns() - max(seen[3], seen[4]) < SETTLED_SECONDS * 1e9:
        return
    entries = [key for key in _entries()[0] if key != _key(seen, crc)]
    entries.append(_key(seen, crc))
    text = "".join(f"{key}\n" for key in entries[-ENTRIES:])
    with contextlib.suppress(OSError):  # no cache here: passes check in full
        where.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where.parent, prefix=f".{_NAME}.")
        try:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(text)
            os.replace(temporary, where)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def cache_file() -> Path | None:
    """The file of remembered identities, or None where remembering is off."""
    folder = os.environ.get(CACHE_ENV)
    if folder == "":
        return None
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "jsonvec")
    return Path(folder) / _NAME


#: the entries last read, by the cache file's identity: read once per process (a folder of a
#: year of nightly parts asks for each part at every pass) until the file is replaced
_read: dict[Path, tuple[Identity | None, list[str], frozenset[str]]] = {}


def _entries() -> tuple[list[str], frozenset[str]]:
    """The remembered keys, oldest first, and the same as a set."""
    where = cache_file()
    if where is None:
        return [], frozenset()
    now = identity(where)
    memo = _read.get(where)
    if memo is not None and now is not None and memo[0] == now:
        return memo[1], memo[2]
    try:
        keys = where.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        keys = []
    _read[where] = (now, keys, frozenset(keys))
    return keys, frozenset(keys)


def _key(seen: Identity, crc: int) -> str:
    return "-".join(f"{part:x}" for part in (*seen, crc))
