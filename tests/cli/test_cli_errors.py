"""Every failure is one line and its exit status, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jsonvec import EncodeError, encode, encode_batch
from jsonvec.cli import cli
from tests.helpers import jsonvec, run, write_vectors

FULL = Path("/dev/full")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def one_line_error(stderr: bytes | str, start: str) -> None:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert text.startswith(start), text


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def vector_offset(path: Path) -> int:
    """A byte in the middle of the first page of vectors of a Parquet file."""
    column = pq.ParquetFile(path).metadata.row_group(0).column(1)
    return column.data_page_offset + column.total_compressed_size // 2


@pytest.mark.parametrize("query", [["--id", "p03"], ['{"city": "Madrid"}']])
def test_a_flipped_byte_in_parquet_vectors(
    runner: CliRunner, tmp_path: Path, samples: Path, query: list[str]
) -> None:
    vectors = write_vectors(tmp_path / "flip.parquet", samples / "people.jsonl")
    flip(vectors, vector_offset(vectors))
    result = runner.invoke(cli, ["similar", str(vectors), *query])
    assert result.exit_code == 1
    one_line_error(result.stderr, f"Error: {vectors}: vectors are corrupted (checksum mismatch)")


def test_a_flipped_byte_in_parquet_ids(runner: CliRunner, tmp_path: Path, samples: Path) -> None:
    vectors = write_vectors(tmp_path / "flip.parquet", samples / "people.jsonl")
    column = pq.ParquetFile(vectors).metadata.row_group(0).column(0)
    flip(vectors, column.data_page_offset + column.total_compressed_size - 3)
    result = runner.invoke(cli, ["similar", str(vectors), "--id", "p03"])
    assert result.exit_code == 1
    one_line_error(result.stderr, f"Error: {vectors}: ids are corrupted (checksum mismatch)")


def test_a_truncated_ids_sidecar(runner: CliRunner, tmp_path: Path, samples: Path) -> None:
    vectors = write_vectors(tmp_path / "v.npy", samples / "people.jsonl")
    ids = tmp_path / "v.npy.ids"
    ids.write_bytes(b"".join(ids.read_bytes().splitlines(keepends=True)[:5]))
    for args in (["--id", "p11"], ['{"name": "Maria Garcia"}']):
        result = runner.invoke(cli, ["similar", str(vectors), *args, "-n", "12"])
        assert result.exit_code == 1
        one_line_error(
            result.stderr,
            f"Error: {ids}: holds 5 ids, but v.npy has 12 rows (a truncated or foreign ids file)",
        )


@pytest.mark.parametrize(
    "args",
    [
        ["similar", "VECTORS", "{}"],
        ["similar", "VECTORS", "{}", "--plain"],
        ["codebook", "info"],
        ["codebook", "info", "--json"],
        ["encode", "PEOPLE", "-o", "-"],
        ["encode", "BIG", "-o", "-", "--batch-size", "16", "--jobs", "2"],
    ],
)
def test_stdout_on_a_full_disk(tmp_path: Path, samples: Path, args: list[str]) -> None:
    if not FULL.exists():
        pytest.skip("no /dev/full here")
    big = tmp_path / "big.jsonl"
    big.write_bytes((samples / "products.jsonl").read_bytes() * 100)
    names = {
        "VECTORS": str(write_vectors(tmp_path / "p.parquet", samples / "people.jsonl")),
        "PEOPLE": str(samples / "people.jsonl"),
        "BIG": str(big),
    }
    with open(FULL, "wb") as full:
        done = run(jsonvec(*[names.get(a, a) for a in args]), stdout=full)
    assert done.returncode == 1
    one_line_error(done.stderr, "Error: stdout: cannot write: No space left on device")


def test_keys_must_be_strings() -> None:
    with pytest.raises(EncodeError, match=r"^at the top level: key 1 is int, but keys must be str"):
        encode({1: "a"})
    with pytest.raises(EncodeError, match=r"^under 'a\[\]': key None is NoneType, but keys"):
        encode_batch([{"a": [{"b": 1}]}, {"a": [{None: 1}]}])
    with pytest.raises(EncodeError, match=r"^at 'a': cannot encode a value of type set"):
        encode({"a": {1, 2}})
