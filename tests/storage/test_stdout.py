"""The one stdout writer: every write complete, or an error that says how far it got.

A reader that leaves early (``| head -c 1000``) once let a run of one batch exit 0 and report
every record written: a pipe took part of one large write, and Python's unbuffered stdout
(``PYTHONUNBUFFERED=1``) handed back the short count without a word. Real processes here,
with readers that leave after 1 byte, 1,000 bytes and one line, on inputs of one batch and of
many (``--jobs 2``), buffered and unbuffered, each ten times.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from jsonvec.errors import OutputError, PipeClosedError
from jsonvec.storage.stdout import StdoutWriter
from tests.helpers import TIMEOUT, jsonvec, spawned

REPEAT = 10
RECORDS = 250  # one batch at the default size; many at --batch-size 16


class Trickle(io.RawIOBase):
    """A raw stream that takes at most ``step`` bytes a write, then fails at ``limit``."""

    def __init__(self, step: int, limit: int | None = None, errno_: int = errno.EPIPE) -> None:
        self.taken = bytearray()
        self.step = step
        self.limit = limit
        self.errno = errno_

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.limit is not None and len(self.taken) >= self.limit:
            raise OSError(self.errno, os.strerror(self.errno))
        piece = bytes(data[: self.step])
        self.taken += piece
        return len(piece)


def test_short_writes_are_repeated_until_all_is_written() -> None:
    target = Trickle(step=7)
    writer = StdoutWriter(target)  # type: ignore[arg-type]
    data = b"".join(b'{"n": %d}\n' % i for i in range(100))
    writer.write(data)
    assert bytes(target.taken) == data
    assert writer.lines == 100


def test_a_closed_pipe_counts_the_complete_lines_written() -> None:
    target = Trickle(step=5, limit=23)
    writer = StdoutWriter(target)  # type: ignore[arg-type]
    with pytest.raises(PipeClosedError) as caught:
        writer.write(b"aaaaaaaa\nbbbbbbbb\ncccccccc\n")  # 25 bytes taken: 2 lines and a bit
    assert caught.value.lines == writer.lines == 2
    assert str(caught.value) == "stdout was closed by its reader after 2 complete lines"


def test_a_full_disk_is_one_line() -> None:
    writer = StdoutWriter(Trickle(step=4, limit=4, errno_=errno.ENOSPC))  # type: ignore[arg-type]
    with pytest.raises(OutputError, match=r"^stdout: cannot write: No space left on device$"):
        writer.write(b"12345678\n")


def read_then_leave(proc: subprocess.Popen[bytes], reader: str) -> bytes:
    """Read what ``reader`` reads, then close the pipe as a reader that exits does."""
    assert proc.stdout is not None
    got = b""
    wanted = {"1 byte": 1, "1000 bytes": 1000}.get(reader)

    def more() -> bool:
        return b"\n" not in got if wanted is None else len(got) < wanted

    while more():
        chunk = os.read(proc.stdout.fileno(), 1 if wanted is None else wanted - len(got))
        if not chunk:
            break
        got += chunk
    proc.stdout.close()
    return got


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stdout") / "in.jsonl"
    lines = (orjson.dumps({"id": i, "name": f"n{i}" * (i % 9 + 1)}) for i in range(RECORDS))
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@pytest.mark.parametrize("repeat", range(REPEAT))
@pytest.mark.parametrize("batches", ["one batch", "many batches"])
@pytest.mark.parametrize("reader", ["1 byte", "1000 bytes", "one line"])
def test_a_reader_that_leaves_ends_the_run_with_141(
    records: Path, tmp_path: Path, reader: str, batches: str, repeat: int
) -> None:
    summary = tmp_path / "s.json"
    many = ["--batch-size", "16", "--jobs", "2"] if batches == "many batches" else []
    command = jsonvec("encode", records, "-o", "-", "--summary", summary, *many)
    env = {**os.environ, "PYTHONUNBUFFERED": "1" if repeat % 2 == 0 else ""}
    with spawned(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        got = read_then_leave(proc, reader)
        assert proc.wait(timeout=TIMEOUT) == 141
        assert proc.stderr is not None
        assert proc.stderr.read() == b""  # as cat, nothing to say: the reader chose to stop
    assert got
    report = orjson.loads(summary.read_bytes())
    written = report["records"]
    assert report["status"] == 141
    assert report["error"] == (
        f"stdout was closed by its reader after {written:,} complete "
        f"line{'' if written == 1 else 's'}"
    )
    assert got.count(b"\n") <= written < RECORDS  # at least what the reader took in full
    assert report["output"] == ("-" if written else None)


@pytest.mark.parametrize("repeat", range(3))
def test_every_command_writes_stdout_through_it(records: Path, tmp_path: Path, repeat: int) -> None:
    """`similar` and `probe` print many lines the same way, and end the same way."""
    vectors = tmp_path / "v.parquet"
    done = subprocess.run(jsonvec("encode", records, "-o", vectors, "--keep-records", "-q"),
                          timeout=TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 0
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(records.read_bytes())
    commands = [
        jsonvec("similar", vectors, "-i", queries, "-n", "250"),
        jsonvec("probe", vectors, "--path", "name", "--from", records, "-n", "50"),
    ]
    for command in commands:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with spawned(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
            read_then_leave(proc, "1000 bytes")
            assert proc.wait(timeout=TIMEOUT) == 141
            assert proc.stderr is not None
            assert b"Error" not in proc.stderr.read()
