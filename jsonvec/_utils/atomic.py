"""Atomic output files: written beside the target, renamed over it only on success.

A run that fails or is interrupted leaves the previous output untouched and no partial file.
Where the system allows (Linux ``O_TMPFILE``), the file being written has no name at all
until it is committed, so even a process killed with SIGKILL or a power cut leaves nothing
behind; elsewhere it is a hidden ``.NAME.*.tmp`` file beside the target, removed on failure.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from jsonvec.errors import OutputError

_SYNC_EVERY = 256 << 20  # bytes written between background syncs


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unnamed(folder: Path) -> int | None:
    """A file descriptor of a new unnamed file in ``folder``, or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None  # a file system without O_TMPFILE
        raise


def _quiet_sync(fd: int) -> None:
    """fdatasync in the background; a failure shows again at the final fsync."""
    with contextlib.suppress(OSError):
        os.fdatasync(fd)


class AtomicFile:
    """A binary file that becomes ``path`` on :meth:`commit` and vanishes on :meth:`abort`.

    Use as a context manager: leaving the block normally commits, an exception aborts.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp_path: Path | None = None  # None: an unnamed file (O_TMPFILE)
        try:
            fd = _unnamed(self.path.parent)
            if fd is None:
                fd, tmp = tempfile.mkstemp(
                    dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
                )
                self.tmp_path = Path(tmp)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from exc
        self.file: BinaryIO = os.fdopen(fd, "w+b")
        self._done = False
        self._prepared = False
        self._synced = 0
        self._syncer: threading.Thread | None = None

    def sync_behind(self) -> None:
        """Every 256 MB, start syncing what was written to disk in a background thread.

        The disk then works while the caller computes, and the sync at :meth:`commit` only
        has the tail left to write.
        """
        self.file.flush()
        position = os.fstat(self.file.fileno()).st_size  # also what others wrote (reopened)
        if position - self._synced < _SYNC_EVERY or self._syncing():
            return
        self._synced = position
        self._syncer = threading.Thread(target=_quiet_sync, args=(self.file.fileno(),))
        self._syncer.start()

    def reopened(self) -> str:
        """A path that opens the file being written once more (for writers that want a file
        of their own, such as Arrow's): the hidden temporary name, or, for a file that has
        none, its descriptor in ``/proc/self/fd``."""
        if self.tmp_path is not None:
            return str(self.tmp_path)
        return f"/proc/self/fd/{self.file.fileno()}"

    def _syncing(self) -> bool:
        return self._syncer is not None and self._syncer.is_alive()

    def _join(self) -> None:
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None

    def prepare(self) -> None:
        """Flush and sync to disk, and give the file its hidden temporary name: all that can
        fail before it is put in place (so that several files can all be made ready before
        any of them replaces its target). Aborts on failure."""
        if self._done or self._prepared:
            return
        try:
            self._join()
            self.file.flush()
            os.fsync(self.file.fileno())  # the data is on disk before any name points at it
            if self.tmp_path is None:  # give the unnamed file a name, to rename it
                self.tmp_path = self._link()
            self.file.close()
            os.chmod(self.tmp_path, 0o666 & ~_umask())
        except OSError as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from exc
        self._prepared = True

    def commit(self) -> None:
        """Flush, sync to disk and put the file in place of the target."""
        if self._done:
            return
        self.prepare()
        assert self.tmp_path is not None
        try:
            os.replace(self.tmp_path, self.path)
        except OSError as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from exc
        self._done = True

    def commit_new(self, names: Iterable[Path]) -> Path:
        """Flush, sync and put the file in place under the first of ``names`` still free.

        A name is taken atomically (a hard link fails if the name exists), so two processes
        committing at once never take the same name or replace each other's file. Returns
        the name taken; :attr:`path` becomes it.
        """
        try:
            self._join()
            self.file.flush()
            os.fsync(self.file.fileno())
            os.fchmod(self.file.fileno(), 0o666 & ~_umask())
            for name in names:
                try:
                    self._link_as(name)
                except FileExistsError:
                    continue
                self.path = name
                break
            else:
                raise OutputError(f"{self.path}: cannot write: no free name left")
            self.file.close()
            if self.tmp_path is not None:
                self.tmp_path.unlink()
        except OSError as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from exc
        self._done = True
        return self.path

    def _link_as(self, name: Path) -> None:
        """Give the file being written the name ``name``; FileExistsError if it is taken."""
        if self.tmp_path is not None:
            os.link(self.tmp_path, name)
            return
        folder = os.open(name.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:  # a dst_dir_fd makes os.link use linkat(..., AT_SYMLINK_FOLLOW)
            os.link(f"/proc/self/fd/{self.file.fileno()}", name.name, dst_dir_fd=folder)
        finally:
            os.close(folder)

    def _link(self) -> Path:
        """Link the unnamed file into the target's folder under a hidden temporary name."""
        name = self.path.parent / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
        self._link_as(name)
        return name

    def abort(self) -> None:
        """Close and delete the temporary file; the target is left as it was."""
        if self._done:
            return
        self._done = True
        self._join()  # the descriptor must stay open until the thread is done with it
        with contextlib.suppress(OSError):
            self.file.close()
        if self.tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.tmp_path.unlink()

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
