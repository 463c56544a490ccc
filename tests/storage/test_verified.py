"""Files whose checksum passed are remembered by identity: not summed again while unchanged,
checked in full once changed in any way, and never an error where no cache can be kept."""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jsonvec.storage import verified
from jsonvec.storage.collection import open_vector_file
from jsonvec.storage.vector_files import VectorFile, VectorsError
from tests.storage.test_vector_files import write

ROWS = 3000  # several blocks of 1,024 rows


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of the test's own; files count as settled at once (see changed())."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(verified.CACHE_ENV, str(folder))
    monkeypatch.setattr(verified, "SETTLED_SECONDS", 0.0)
    return folder


def sums(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the CRC-32 sums taken from now on."""
    taken: list[int] = []
    real = zlib.crc32

    def counting(data: Any, value: int = 0) -> int:
        taken.append(memoryview(data).nbytes)
        return real(data, value)

    monkeypatch.setattr(zlib, "crc32", counting)
    return taken


def read(file: VectorFile) -> np.ndarray:
    return np.concatenate([block for _, block in file.chunks(1024)])


def changed(path: Path, action: Any) -> None:
    """Do ``action`` to the file once its change time can move (times are kept to a tick)."""
    before = os.stat(path).st_ctime_ns
    deadline = time.monotonic() + 5
    while True:
        time.sleep(0.02)
        action()
        if os.stat(path).st_ctime_ns != before or time.monotonic() > deadline:
            break
    assert os.stat(path).st_ctime_ns != before


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_a_file_that_passed_is_not_summed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"v{suffix}"
    data = write(path, ROWS, 500)
    taken = sums(monkeypatch)
    assert np.array_equal(read(open_vector_file(path)), data)
    assert sum(taken) == data.nbytes  # the first pass sums every vector
    taken.clear()
    assert np.array_equal(read(open_vector_file(path)), data)
    assert taken == []  # the second, of the same file unchanged, sums none


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_damage_after_a_pass_is_still_found(tmp_path: Path, suffix: str) -> None:
    """Any write moves the file's change time, so the next pass checks it in full."""
    path = tmp_path / f"v{suffix}"
    data = write(path, ROWS, 500)
    read(open_vector_file(path))
    at = path.read_bytes().index(data[1500].tobytes())  # a vector's first float

    def flip() -> None:
        with open(path, "r+b") as handle:
            handle.seek(at)
            byte = handle.read(1)
            handle.seek(at)
            handle.write(bytes([byte[0] ^ 0x40]))

    changed(path, lambda: (flip(), flip()))  # an even count of flips: as it was...
    read(open_vector_file(path))  # ...so it passes, checked in full, and is remembered
    changed(path, flip)
    with pytest.raises(VectorsError, match="checksum mismatch"):
        read(open_vector_file(path))


def test_a_file_that_changes_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.npy"
    write(path, ROWS, 500)
    read(open_vector_file(path))
    blocks = open_vector_file(path).chunks(1024)
    next(blocks)
    changed(path, lambda: os.utime(path))
    with pytest.raises(VectorsError, match="changed while it was being read"):
        list(blocks)


def test_nothing_is_remembered_where_it_should_not_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    """A file changed just now, a pass left unfinished, or a cache turned off: every later
    pass sums in full."""
    path = tmp_path / "v.npy"
    write(path, ROWS, 500)
    monkeypatch.setattr(verified, "SETTLED_SECONDS", 3600.0)  # written less than an hour ago
    read(open_vector_file(path))
    assert not (cache / "verified-v1").exists()
    monkeypatch.setattr(verified, "SETTLED_SECONDS", 0.0)
    next(open_vector_file(path).chunks(1024))  # stopped after one block
    assert not (cache / "verified-v1").exists()
    monkeypatch.setenv(verified.CACHE_ENV, "")
    read(open_vector_file(path))
    taken = sums(monkeypatch)
    read(open_vector_file(path))
    assert sum(taken) == ROWS * 16 * 4


def test_a_cache_that_cannot_be_kept_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.parquet"
    data = write(path, ROWS, 500)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(verified.CACHE_ENV, str(blocker / "cache"))
    for _ in range(2):
        assert np.array_equal(read(open_vector_file(path)), data)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "verified-v1").write_bytes(b"\xff\xfe not ascii")
    monkeypatch.setenv(verified.CACHE_ENV, str(garbage))
    assert np.array_equal(read(open_vector_file(path)), data)
    assert verified.known(verified.identity(path) or (0, 0, 0, 0, 0), 0) is False
    assert len((garbage / "verified-v1").read_text().split()) == 1  # replaced, whole


def test_the_cache_keeps_the_newest_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verified, "ENTRIES", 3)
    for n in range(5):
        verified.remember((1, n, 2, 3, 4), 7)
    assert [verified.known((1, n, 2, 3, 4), 7) for n in range(5)] == [False] * 2 + [True] * 3
    assert not verified.known((1, 4, 2, 3, 4), 8)  # another stored checksum: not known


def test_the_cache_file_is_read_once_while_it_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A folder of many parts asks for each at every pass: one read of the cache serves all,
    and a cache replaced (by another run) is read again."""
    verified.remember((1, 1, 2, 3, 4), 7)
    reads: list[Path] = []
    real = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    assert all(verified.known((1, 1, 2, 3, 4), 7) for _ in range(100))
    assert len(reads) <= 1
    verified.remember((1, 2, 2, 3, 4), 7)
    assert verified.known((1, 2, 2, 3, 4), 7)
    assert verified.known((1, 1, 2, 3, 4), 7)
