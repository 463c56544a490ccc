"""Atomic output files: written beside the target, renamed over it only on success.

A run that fails or is interrupted leaves the previous output untouched and no partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from jsonvec.errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A binary file that becomes ``path`` on :meth:`commit` and vanishes on :meth:`abort`.

    Use as a context manager: leaving the block normally commits, an exception aborts.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from exc
        self.tmp_path = Path(tmp)
        self.file: BinaryIO = os.fdopen(fd, "w+b")
        self._done = False

    def commit(self) -> None:
        """Flush, sync to disk and rename over the target."""
        if self._done:
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self.tmp_path, 0o666 & ~_umask())
            os.replace(self.tmp_path, self.path)
        except OSError as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot write: {exc.strerror}") from exc
        self._done = True

    def abort(self) -> None:
        """Close and delete the temporary file; the target is left as it was."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self.file.close()
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
