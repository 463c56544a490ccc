"""The folder a cluster run writes: on a file system here, or at a URL (an object store).

Both commit a run the same way: the manifest (:mod:`jsonvec.storage.manifest`) is written last, and
readers use only the parts it lists. They differ in how parts arrive:

- a **local folder** (a path; on a cluster, one every worker mounts at the same path): parts
  are written under the run's hidden staging folder and linked in by the client once every
  task is done; a link never replaces a file;
- a **URL** of an fsspec file system (``s3://bucket/vectors/``, ``gs://``, ``file://``):
  object stores cannot rename, so each task uploads its part under its final name, which no
  manifest lists until the run's manifest is put (one PUT: atomic on object stores). The
  parts of a failed run are deleted by the client if it can; any it cannot delete (the
  client was killed) are never listed, and the next run's part numbers go past them.
  Appends to a URL are not serialized: run one at a time per folder.

Before the parts of a run arrive, a folder without a manifest gets one (listing the parts
readers use until then), so that no new part is seen before the run commits.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonvec.errors import OutputError
from jsonvec.storage.appending import append_lock
from jsonvec.storage.layout import MANIFEST
from jsonvec.storage.manifest import (
    Manifest,
    has_manifest,
    parse_manifest,
    read_manifest,
    write_manifest,
)

#: seconds a failed run goes on removing its staging folder while it comes back
STAGING_WAIT = 5.0


def is_url(where: str) -> bool:
    return "://" in where


def file_system(url: str) -> tuple[Any, str]:
    """The fsspec file system of ``url`` and the path in it."""
    core: Any = importlib.import_module("fsspec.core")  # comes with dask
    fs, path = core.url_to_fs(url)
    return fs, str(path)


def open_file(where: str, mode: str) -> Any:
    """A file at a path or URL (fsspec), as a context manager."""
    fsspec: Any = importlib.import_module("fsspec")
    return fsspec.open(where, mode)


class Output:
    """Operations on a run's output folder; see the module's text for the two kinds."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.remote = is_url(where)
        if self.remote:
            self.fs, self.root = file_system(where.rstrip("/"))
        else:
            self.folder = Path(where)

    def create(self) -> None:
        try:
            if self.remote:
                self.fs.makedirs(self.root, exist_ok=True)
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.where}: cannot create the folder: {exc}") from exc

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """The folder's append lock (local folders; object stores have none)."""
        return contextlib.nullcontext() if self.remote else append_lock(str(self.folder))

    def names(self) -> list[str]:
        """The names in the folder."""
        if self.remote:
            return [
                str(p).rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.root, detail=False)
            ]
        return os.listdir(self.folder)

    def path(self, name: str) -> str:
        """Where ``name`` in the folder is, for a reader on any machine of the cluster."""
        return f"{self.root}/{name}" if self.remote else str(self.folder / name)

    @property
    def name(self) -> str:
        """The folder, as messages name it."""
        return self.where.rstrip("/") if self.remote else str(self.folder)

    def url(self, name: str) -> str:
        return f"{self.where.rstrip('/')}/{name}" if self.remote else str(self.folder / name)

    def manifest(self) -> Manifest | None:
        if not self.remote:
            return read_manifest(self.folder) if has_manifest(self.folder) else None
        path = self.path(MANIFEST)
        if not self.fs.exists(path):
            return None
        return parse_manifest(self.fs.cat_file(path), self.url(MANIFEST))

    def put_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest in one step."""
        if self.remote:
            self.fs.pipe_file(self.path(MANIFEST), manifest.to_bytes())
        else:
            write_manifest(self.folder, manifest)

    @contextlib.contextmanager
    def staging(self) -> Iterator[str]:
        """A folder (or prefix) of the run's own for its temporary files, removed after."""
        if self.remote:
            where = f"{self.where.rstrip('/')}/_jsonvec-run-{secrets.token_hex(8)}"
            path = self.path(where.rsplit("/", 1)[-1])
            self.fs.makedirs(path, exist_ok=True)
        else:
            where = tempfile.mkdtemp(prefix=".jsonvec-run-", dir=self.folder)
        try:
            yield where
        finally:
            if self.remote:
                with contextlib.suppress(Exception):  # cleaning up: the run's error stands
                    self.fs.rm(path, recursive=True)
            else:
                _remove_tree(Path(where))

    def part_target(self, name: str, staging: str) -> str:
        """Where a task writes the part ``name``: the staging folder here, the final name
        at a URL."""
        return self.url(name) if self.remote else str(Path(staging) / name)

    def commit(self, names: list[str], staging: str, manifest: Manifest) -> None:
        """Bring the parts in (local folders) and put the manifest that lists them; on
        failure, parts brought in or uploaded are deleted."""
        moved: list[str] = []
        try:
            if not self.remote:
                for name in names:
                    _link(Path(staging) / name, self.folder / name)
                    moved.append(name)
            self.put_manifest(manifest)
        except BaseException:
            self.discard(names if self.remote else moved)
            raise

    def discard(self, names: list[str]) -> None:
        """Delete parts of a failed run, as far as possible."""
        for name in names:
            with contextlib.suppress(Exception):
                if self.remote:
                    self.fs.rm(self.path(name))
                else:
                    (self.folder / name).unlink()


def _link(source: Path, target: Path) -> None:
    """Link a part in under a name no other part has (a link never replaces a file)."""
    try:
        os.link(source, target)
    except FileExistsError as exc:
        raise OutputError(f"{target}: another run wrote this part meanwhile") from exc
    except OSError:  # a file system without links: the name was checked free
        if target.exists():
            raise OutputError(f"{target}: another run wrote this part meanwhile") from None
        os.replace(source, target)


def _remove_tree(folder: Path, seconds: float = STAGING_WAIT) -> None:
    """Remove ``folder``, again if a file appeared in it meanwhile (up to ``seconds``).

    After an interrupt a task already running on a worker may still create its part there
    (Dask cannot stop a running task; the run's other tasks are cancelled) between the
    listing of a removal and its ``rmdir``, which then fails. Once the folder is gone no
    task creates it again: they write into it, they do not make it."""
    deadline = time.monotonic() + seconds
    while True:
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists() or time.monotonic() > deadline:
            return
        time.sleep(0.05)
