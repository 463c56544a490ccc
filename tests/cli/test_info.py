"""``jsonvec info`` and ``Vectors.info()``: what vectors hold, the state of their checksums
and of an index, and what is damaged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import jsonvec
from jsonvec.cli import cli
from jsonvec.storage import verified
from tests.helpers import jsonvec as command
from tests.helpers import run


def invoke(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(cli, ["info", *args])
    return done.exit_code, done.stdout, done.stderr


def summaries(*args: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, _ = invoke(*args, "--json")
    return code, [orjson.loads(line) for line in out.splitlines()]


@pytest.fixture
def made(tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A folder of two parts (records kept), an .npy file, and an index over the first part."""
    monkeypatch.setenv(verified.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(verified, "SETTLED_SECONDS", 0.0)
    people = str(samples / "people.jsonl")
    folder, npy, index = tmp_path / "v", tmp_path / "p.npy", tmp_path / "v" / "index.usearch"
    encode = ["encode", people, "-o", f"{folder}/", "--append", "--id-field", "id",
              "--keep-records", "-q"]  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(cli, encode).exit_code == 0
    assert (
        runner.invoke(cli, ["index", "build", str(folder), "-o", str(index), "-q"]).exit_code == 0
    )
    assert runner.invoke(cli, encode).exit_code == 0
    assert runner.invoke(cli, ["encode", people, "-o", str(npy), "-q"]).exit_code == 0
    return {"folder": folder, "npy": npy, "index": index}


def test_one_summary_per_file_or_folder(made: dict[str, Path]) -> None:
    code, (folder, npy) = summaries(f"{made['folder']}/", str(made["npy"]))
    assert code == 0
    assert (folder["folder"], folder["parts"], folder["formats"]) == (True, 2, [".parquet"])
    assert (folder["rows"], folder["dim"], folder["dtype"], folder["encoding"]) == (
        24, 1024, "float32", 3)  # fmt: skip
    assert (folder["id_type"], folder["records"]) == ("string", True)
    assert (npy["folder"], npy["parts"], npy["rows"], npy["id_type"], npy["records"]) == (
        False, 1, 12, "int", False)  # fmt: skip
    book = jsonvec.default_codebook()
    assert folder["codebook"] == npy["codebook"] == book.fingerprint
    assert folder["codebook_params"] == book.params()
    files = [*made["folder"].glob("*.parquet")]
    assert folder["bytes"] == sum(f.stat().st_size for f in files)
    assert npy["bytes"] == sum(
        Path(f"{made['npy']}{s}").stat().st_size for s in ("", ".ids", ".meta")
    )
    loaded = jsonvec.load(made["npy"]).info()
    assert loaded == {**npy, "path": str(made["npy"])}
    code, text, _ = invoke(str(made["npy"]))
    assert code == 0
    assert text.splitlines()[:2] == [f"{made['npy']}: .npy", "  rows      12 of dim 1024, float32"]


def test_checksum_states(made: dict[str, Path]) -> None:
    """unverified until read in full; verified after (--check, or any full pass) while the
    file is unchanged; a damaged part is named, with exit status 1."""
    name = str(made["npy"])
    assert summaries(name)[1][0]["checksum"] == "unverified"
    assert summaries(name, "--check")[1][0]["checksum"] == "verified"
    assert summaries(name)[1][0]["checksum"] == "verified"  # remembered
    part = sorted(made["folder"].glob("*.parquet"))[-1]
    jsonvec.load(made["folder"]).info(check=True)
    assert summaries(str(made["folder"]))[1][0]["checksum"] == "verified"
    data = bytearray(part.read_bytes())
    at = len(data) // 2
    while True:  # a byte among the vectors: the CRC-32 of the vectors catches it
        data[at] ^= 0x01
        part.write_bytes(bytes(data))
        code, found = summaries(str(made["folder"]), "--check")
        if code:
            break
        data[at] ^= 0x01
        at += 4096
    assert found[0]["error"].startswith(f"{part}: ")
    assert "corrupted" in found[0]["error"]


def test_a_damaged_file_is_named_and_the_rest_still_summed(made: dict[str, Path],
                                                           tmp_path: Path) -> None:  # fmt: skip
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"garbage")
    code, text, _ = invoke(str(bad), str(made["npy"]))
    assert code == 1
    assert text.splitlines()[0].startswith(f"{bad}: error: {bad}: ")
    assert f"{made['npy']}: .npy" in text.splitlines()
    code, found = summaries(str(tmp_path / "missing.npy"))
    assert code == 1
    assert found == [{"path": str(tmp_path / "missing.npy"),
                      "error": f"{tmp_path / 'missing.npy'}: no such vectors file"}]  # fmt: skip


def test_index_states(made: dict[str, Path]) -> None:
    """behind after an append, current over the files it was built from, unusable over
    others; the same from a Vectors loaded with it."""
    index = str(made["index"])
    code, (folder, npy) = summaries(str(made["folder"]), str(made["npy"]), "--index", index)
    assert code == 0
    assert folder["index"] == {"path": index, "state": "behind", "rows": 12, "added": 12}
    assert npy["index"]["state"] == "unusable"
    assert "built from other vectors files" in npy["index"]["error"]
    first = sorted(made["folder"].glob("*.parquet"))[0]
    _, (current,) = summaries(str(first), "--index", index)
    assert current["index"] == {"path": index, "state": "current", "rows": 12}
    loaded = jsonvec.load(first, index=index).info()
    assert loaded["index"] == current["index"]
    code, text, _ = invoke(str(made["folder"]), "--index", index)
    assert (
        f"  index     {index}: behind: 12 rows added since it was built (jsonvec index update)"
        in text
    )


def test_info_cannot_write_into_what_it_reads(made: dict[str, Path]) -> None:
    before = made["npy"].read_bytes()
    with open(made["npy"], "ab") as appended:
        done = run(command("info", made["npy"]), stdout=appended)
    assert done.returncode == 2
    assert b"stdout would overwrite" in done.stderr
    assert made["npy"].read_bytes() == before
