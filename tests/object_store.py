"""A file system that behaves as an object store for the tests: it cannot rename or move.

Its URLs are ``objectstore:///absolute/path``; the objects are local files, so every worker
of a local cluster sees them (register it in each worker with :func:`register`).
"""

from __future__ import annotations

from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

PROTOCOL = "objectstore"


class NoRenameFileSystem(LocalFileSystem):  # type: ignore[misc]
    protocol = (PROTOCOL,)

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        text = str(path)
        if text.startswith(f"{PROTOCOL}://"):
            text = text[len(PROTOCOL) + 3 :]
        return super()._strip_protocol(text)

    def mv(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("an object store cannot rename")

    rename = move = mv


def register() -> None:
    fsspec.register_implementation(PROTOCOL, NoRenameFileSystem, clobber=True)
