"""The last steps of a run, where a mistake loses data unnoticed.

- Every output reaches the disk before it is put in place: an fsync that fails (EIO, a full
  disk that only shows at sync) keeps the previous output and leaves no other file, for each
  kind of output and whichever of its files fails.
- An interrupt noted after the last batch stops the run before it commits, on every commit
  path: a file, an append to a file, a folder of parts, a folder on a Dask cluster.

These guard against mistakes that passed the rest of the suite when planted on purpose
(``os.replace`` moved ahead of ``os.fsync``; the interrupt check before the commit removed).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import jsonvec
import jsonvec.dask.files
import jsonvec.run.stream
from jsonvec._utils import interrupts
from jsonvec.errors import AnnIndexError, OutputError
from jsonvec.search.ann import build_index

MANY = {"batch_size": 16}


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "r.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"".join(orjson.dumps({"id": f"r{i}", "n": i}) + b"\n" for i in range(100)))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def failing_fsync(monkeypatch: pytest.MonkeyPatch, nth: int) -> list[int]:
    """Make the ``nth`` fsync of jsonvec's atomic files fail with EIO; the calls so far."""
    calls: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == nth:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr("jsonvec._utils.atomic.os.fsync", fsync)
    return calls


OUTPUTS = {
    "parquet": ("v.parquet", {}),
    "npy": ("v.npy", {}),
    "jsonl": ("v.jsonl", {}),
    "append to a file": ("v.parquet", {"append": True, "id_field": "id"}),
    "append to a folder": ("parts/", {"append": True, "id_field": "id"}),
    "rejects": ("v.parquet", {"skip_invalid": True, "rejects": "bad.jsonl"}),
}


@pytest.mark.parametrize("nth", [1, 2, 3])
@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_a_failing_fsync_keeps_the_previous_output(
    records: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, nth: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    name, options = OUTPUTS[kind]
    rejects = {"rejects": out / options["rejects"]} if "rejects" in options else {}
    run: Callable[[], Any] = lambda: jsonvec.encode_file(  # noqa: E731
        records, f"{out}/{name}", jobs=2, **{**options, **rejects}, **MANY
    )
    run()  # the previous output
    if kind.startswith("append"):
        run()
    before = snapshot(out)
    calls = failing_fsync(monkeypatch, nth)
    failed: OutputError | None = None
    try:
        run()
    except OutputError as exc:
        failed = exc
    if failed is None:  # the run synced fewer files than nth: all went well
        assert len(calls) < nth
        return
    assert "cannot write: Input/output error" in str(failed)
    assert snapshot(out) == before  # nothing replaced, nothing left beside


def test_a_failing_fsync_keeps_a_codebook_and_an_index(
    records: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, vectors, index = tmp_path / "b.jvc", tmp_path / "v.parquet", tmp_path / "v.usearch"
    jsonvec.save_codebook(jsonvec.Codebook(seed=1), book)
    jsonvec.encode_file(records, vectors, id_field="id")
    collection = jsonvec.load(vectors).collection
    build_index(collection, index)
    before = snapshot(tmp_path)
    failing_fsync(monkeypatch, 1)
    with pytest.raises(OutputError):
        jsonvec.save_codebook(jsonvec.Codebook(seed=2), book)
    failing_fsync(monkeypatch, 1)
    with pytest.raises((OutputError, AnnIndexError)):
        build_index(collection, index)
    assert snapshot(tmp_path) == before


class Interrupter:
    """Notes an interrupt (as a Ctrl-C dropped in a callback is noted) once the last batch
    of a run is encoded, when armed."""

    def __init__(self) -> None:
        self.armed = False
        self.pending: list[BaseException] = []

    def note(self) -> None:
        if self.armed:
            self.pending.append(KeyboardInterrupt())


@pytest.fixture
def interrupter(monkeypatch: pytest.MonkeyPatch) -> Iterator[Interrupter]:
    interrupter = Interrupter()
    monkeypatch.setattr(interrupts, "_PENDING", interrupter.pending)
    real = jsonvec.run.stream.encode_batches

    def batches(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from real(*args, **kwargs)
        interrupter.note()

    monkeypatch.setattr(jsonvec.run.stream, "encode_batches", batches)
    real_tasks = jsonvec.dask.files.run_tasks

    def tasks(client: Any, progress: bool, calls: list[Any]) -> list[Any]:
        done = real_tasks(client, progress, calls)
        if any("_encode_range" in str(call.key) for call in calls):
            interrupter.note()
        return done

    monkeypatch.setattr(jsonvec.dask.files, "run_tasks", tasks)
    yield interrupter
    interrupter.pending.clear()  # nothing noted may reach the next test


@pytest.mark.parametrize("repeat", range(2))
@pytest.mark.parametrize("kind", ["parquet", "npy", "append to a file", "append to a folder"])
def test_an_interrupt_after_the_last_batch_commits_nothing(
    records: Path, tmp_path: Path, interrupter: Interrupter, kind: str, repeat: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    name, options = OUTPUTS[kind]
    jsonvec.encode_file(records, f"{out}/{name}", **options)
    before = snapshot(out)
    interrupter.armed = True
    with pytest.raises(KeyboardInterrupt):
        jsonvec.encode_file(records, f"{out}/{name}", jobs=2, **options, **MANY)
    assert interrupter.pending  # noted after the last batch, and raised before the commit
    assert snapshot(out) == before


def test_an_interrupt_after_the_last_task_commits_nothing_on_dask(
    records: Path, tmp_path: Path, interrupter: Interrupter
) -> None:
    from jsonvec.dask import encode_files  # noqa: PLC0415

    folder = f"{tmp_path}/parts/"
    encode_files([str(records)], folder, id_field="id")
    before = snapshot(tmp_path / "parts")
    interrupter.armed = True
    with pytest.raises(KeyboardInterrupt):
        encode_files([str(records)], folder, id_field="id", append=True, batch_size=16)
    assert interrupter.pending
    assert snapshot(tmp_path / "parts") == before
