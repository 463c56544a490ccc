from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from jsonvec import Codebook
from jsonvec.cli import cli
from jsonvec.search.ann import AnnIndex, AnnIndexError, build_index, meta_path, update_index
from jsonvec.search.exact import CollectionSearch
from jsonvec.storage.collection import Collection
from tests.helpers import jsonvec as jsonvec_command
from tests.helpers import write_vectors

pytest.importorskip("usearch")


@pytest.fixture
def built(tmp_path: Path, samples: Path) -> tuple[Collection, Path]:
    vectors = write_vectors(tmp_path / "people.parquet", samples / "people.jsonl")
    collection = Collection.open([str(vectors)])
    path = tmp_path / "people.usearch"
    build_index(collection, path)
    return collection, path


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_ann_agrees_with_exact_search(
    built: tuple[Collection, Path], dtype: str, tmp_path: Path
) -> None:
    """A float16 index scores as its half-precision vectors do (within 2e-3), a float32 one
    as exact search does."""
    collection, path = built
    if dtype != "float16":
        path = tmp_path / f"{dtype}.usearch"
        build_index(collection, path, dtype=dtype)
    queries = np.stack([collection.vector(r) for r in range(collection.count)])
    exact_rows, exact_scores = CollectionSearch(collection).search(queries, 5)
    ann_rows, ann_scores = CollectionSearch(collection, AnnIndex(collection, path)).search(
        queries, 5
    )
    assert ann_rows[:, 0].tolist() == list(range(collection.count))
    assert ann_rows.shape == exact_rows.shape
    recall = np.mean([len(set(a) & set(e)) / 5 for a, e in zip(ann_rows, exact_rows, strict=True)])
    assert recall >= 0.9
    tolerance = {"float32": 1e-5, "float16": 2e-3}[dtype]
    assert np.allclose(ann_scores[:, 0], exact_scores[:, 0], atol=tolerance)
    meta = orjson.loads(path.with_name(path.name + ".meta.json").read_bytes())
    assert meta["dtype"] == dtype


def test_stale_index_is_refused(built: tuple[Collection, Path], samples: Path) -> None:
    collection, path = built
    vectors = collection.files[0].path
    later = vectors.stat().st_mtime_ns + 10**9
    os.utime(vectors, ns=(later, later))  # touched, the same content: still the same vectors
    AnnIndex(Collection.open([str(vectors)]), path)
    write_vectors(vectors, samples / "products.jsonl", id_field="sku")
    with pytest.raises(AnnIndexError, match=r"is out of date: .* changed after the index was"):
        AnnIndex(Collection.open([str(vectors)]), path)


@pytest.mark.parametrize("copy", [shutil.copy, shutil.copy2, shutil.move])
def test_index_and_vectors_move_together(
    built: tuple[Collection, Path], tmp_path: Path, copy: Any
) -> None:
    """Copied (with or without their times) or moved to another folder, both still work."""
    assert built[1].exists()
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    for name in ("people.parquet", "people.usearch", "people.usearch.meta.json"):
        copy(tmp_path / name, elsewhere / name)
    moved = Collection.open([str(elsewhere / "people.parquet")])
    queries = np.stack([moved.vector(r) for r in range(3)])
    rows, _ = CollectionSearch(moved, AnnIndex(moved, elsewhere / "people.usearch")).search(
        queries, 1
    )
    assert rows[:, 0].tolist() == [0, 1, 2]


def test_a_flipped_byte_in_a_small_index_is_caught_at_open(
    built: tuple[Collection, Path],
) -> None:
    collection, path = built
    damaged = bytearray(path.read_bytes())
    damaged[-20] ^= 0x10
    path.write_bytes(bytes(damaged))
    with pytest.raises(AnnIndexError, match=r"index file is damaged \(checksum mismatch\)"):
        AnnIndex(collection, path)


def test_an_index_of_jsonvec_0_2_asks_to_be_rebuilt(built: tuple[Collection, Path]) -> None:
    collection, path = built
    meta = orjson.loads(meta_path(path).read_bytes())
    meta_path(path).write_bytes(orjson.dumps({**meta, "format": 1}))
    with pytest.raises(AnnIndexError, match=r"built by jsonvec 0\.2.*rebuild it"):
        AnnIndex(collection, path)


def test_index_of_other_vectors_is_refused(
    built: tuple[Collection, Path], tmp_path: Path, samples: Path
) -> None:
    _, path = built
    other = write_vectors(tmp_path / "other.parquet", samples / "products.jsonl", id_field="sku")
    with pytest.raises(AnnIndexError, match="was built from other vectors files"):
        AnnIndex(Collection.open([str(other)]), path)
    seeded = write_vectors(tmp_path / "s.parquet", samples / "people.jsonl", Codebook(seed=5))
    with pytest.raises(AnnIndexError, match="was built with codebook"):
        AnnIndex(Collection.open([str(seeded)]), path)


def test_missing_or_damaged_index(built: tuple[Collection, Path]) -> None:
    collection, path = built
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(AnnIndexError, match=r"people\.usearch"):
        AnnIndex(collection, path)
    meta_path(path).unlink()
    with pytest.raises(AnnIndexError, match="no index metadata"):
        AnnIndex(collection, path)


def test_missing_extra_is_explained(
    built: tuple[Collection, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    collection, path = built
    real_import = builtins.__import__

    def no_usearch(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("usearch"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_usearch)
    with pytest.raises(AnnIndexError, match=r"pip install 'jsonvec\[ann\]'"):
        build_index(collection, path)


def test_damaged_index_is_detected(built: tuple[Collection, Path]) -> None:
    """A flipped byte fails `index check` (CRC-32); a truncated file fails at open (size)."""
    collection, path = built
    original = path.read_bytes()
    runner = CliRunner()
    vectors = str(collection.files[0].path)
    result = runner.invoke(cli, ["index", "check", str(path), vectors])
    assert result.exit_code == 0, result.output
    assert "is intact and up to date" in result.stderr
    damaged = bytearray(original)
    damaged[len(original) // 2] ^= 0x01
    path.write_bytes(bytes(damaged))
    result = runner.invoke(cli, ["index", "check", str(path), vectors])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: index file is damaged (checksum mismatch)\n"
    path.write_bytes(original[:-10])
    with pytest.raises(AnnIndexError, match="index file is damaged"):
        AnnIndex(collection, path)


def test_an_index_behind_its_folder_says_so(tmp_path: Path, samples: Path) -> None:
    """Parts appended after the index was built: `similar --index` says the index is behind,
    by how many rows, and how to catch up (exit 1, nothing on stdout)."""
    folder = tmp_path / "v"
    encode = ["encode", str(samples / "people.jsonl"), "-o", f"{folder}/", "--append", "-q"]
    runner = CliRunner()
    assert runner.invoke(cli, encode).exit_code == 0
    index = folder / "index.usearch"
    assert (
        runner.invoke(cli, ["index", "build", str(folder), "-o", str(index), "-q"]).exit_code == 0
    )
    assert runner.invoke(cli, encode).exit_code == 0
    done = runner.invoke(cli, ["similar", str(folder), "--index", str(index), '{"name": "Ann"}'])
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: {index} is behind the vectors: 12 rows were added after it was built; "
        "add them with jsonvec index update\n"
    )


@pytest.fixture(params=["float16", "float32"])
def grown(tmp_path: Path, samples: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """A folder of two parts and an index (of each scalar kind) built over the first: behind
    by 12 rows."""
    folder = tmp_path / "v"
    encode = ["encode", str(samples / "people.jsonl"), "-o", f"{folder}/", "--append",
              "--id-field", "id", "-q"]  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(cli, encode).exit_code == 0
    index = folder / "index.usearch"
    build_index(Collection.open([str(folder)]), index, dtype=request.param)
    encode[1] = str(samples / "products.jsonl")
    assert runner.invoke(cli, [*encode[:-2], "sku", "-q"]).exit_code == 0
    return folder, index


def test_index_update_adds_the_appended_rows(grown: tuple[Path, Path]) -> None:
    folder, index = grown
    collection = Collection.open([str(folder)])
    old = collection.offsets[1]
    done = CliRunner().invoke(cli, ["index", "update", str(index), str(folder)])
    assert done.exit_code == 0, done.output
    added = collection.count - old
    assert done.stderr.startswith(f"jsonvec: added {added} vectors to {index} in ")
    searcher = CollectionSearch(collection, AnnIndex(collection, index))
    queries = np.stack([collection.vector(r) for r in range(collection.count)])
    rows, _ = searcher.search(queries, 1)
    assert rows[:, 0].tolist() == list(range(collection.count))  # old rows and new alike
    files = {p: p.stat().st_mtime_ns for p in (index, meta_path(index))}
    again = CliRunner().invoke(cli, ["index", "update", str(index), str(folder)])
    assert again.stderr == f"jsonvec: {index} is up to date with {collection.count} vectors\n"
    assert {p: p.stat().st_mtime_ns for p in files} == files  # nothing written


def test_index_update_refuses_a_changed_file_and_keeps_the_index(
    grown: tuple[Path, Path], samples: Path
) -> None:
    folder, index = grown
    before = index.read_bytes(), meta_path(index).read_bytes()
    first = sorted(folder.glob("*.parquet"))[0]
    write_vectors(first, samples / "products.jsonl", id_field="sku")
    done = CliRunner().invoke(cli, ["index", "update", str(index), str(folder)])
    assert done.exit_code == 1
    assert done.stderr == (
        f"Error: {index} is out of date: {first} changed after the index was built; "
        "rebuild it with jsonvec index build\n"
    )
    assert (index.read_bytes(), meta_path(index).read_bytes()) == before


def test_an_interrupted_update_leaves_the_previous_index(
    grown: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, index = grown
    before = index.read_bytes(), meta_path(index).read_bytes()
    listed = sorted(folder.iterdir())
    from usearch.index import Index  # noqa: PLC0415

    def interrupted(self: Any, path: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Index, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        update_index(Collection.open([str(folder)]), index)
    assert (index.read_bytes(), meta_path(index).read_bytes()) == before
    assert sorted(folder.iterdir()) == listed  # no file left behind
    first = Collection.open([str(sorted(folder.glob("*.parquet"))[0])])
    AnnIndex(first, index).verify()  # the previous index, whole


def synthetic_part(path: Path, rows: int, first: int, dim: int = 128) -> None:
    """A Parquet part of ``rows`` random unit vectors, as jsonvec writes it."""
    from jsonvec.storage.parquet.sink import ParquetSink  # noqa: PLC0415
    from jsonvec.version import ENCODING  # noqa: PLC0415

    meta = {"format": 1, "dim": dim, "dtype": "float32", "codebook": "synthetic",
            "id_type": "int", "encoding": ENCODING}  # fmt: skip
    data = np.random.default_rng(first).standard_normal((rows, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    sink = ParquetSink(str(path), dim, meta, "int")
    for start in range(0, rows, 1024):
        block = data[start : start + 1024]
        sink.write(list(range(first + start, first + start + len(block))), block)
    sink.commit()


@pytest.mark.parametrize("delay", [0.1, 0.4, 0.8, 1.5])
def test_an_update_killed_at_any_moment_leaves_a_whole_index(tmp_path: Path, delay: float) -> None:
    """SIGKILL cannot be handled: whenever it comes, INDEX is the previous index or the
    updated one, whole, and nothing else is left in its folder."""
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    synthetic_part(first, 1000, 0)
    synthetic_part(second, 20000, 1000)
    index = tmp_path / "index.usearch"
    build_index(Collection.open([str(first)]), index)
    listed = sorted(tmp_path.iterdir())
    with subprocess.Popen(
        jsonvec_command("index", "update", index, first, second), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as proc:  # fmt: skip
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert sorted(tmp_path.iterdir()) == listed
    for files in ([first], [first, second]):
        collection = Collection.open([str(f) for f in files])
        try:
            opened = AnnIndex(collection, index)
        except AnnIndexError:
            continue
        opened.verify()
        assert len(opened._index) == collection.count
        break
    else:
        pytest.fail("the index answers for neither the old files nor the new")


def test_an_index_of_another_scalar_kind_is_refused_before_building(
    built: tuple[Collection, Path], tmp_path: Path
) -> None:
    collection, _ = built
    with pytest.raises(AnnIndexError, match="unknown index dtype 'bf16': choose one of float32"):
        build_index(collection, tmp_path / "x.usearch", dtype="bf16")
    assert not (tmp_path / "x.usearch").exists()
    result = CliRunner().invoke(cli, ["index", "build", str(collection.files[0].path), "-o",
                                      str(tmp_path / "x.usearch"), "--dtype", "bf16"])  # fmt: skip
    assert result.exit_code == 2
    assert "'bf16' is not one of 'float32', 'float16'" in result.stderr


@pytest.mark.parametrize("projection", [256, 0])
def test_a_projected_graph_gives_exact_scores_of_its_candidates(
    tmp_path: Path, samples: Path, projection: int
) -> None:
    """Over a projection the graph finds candidates and their exact cosines order them: the
    scores are those of exact search; without one the graph holds the vectors themselves."""
    vectors = write_vectors(tmp_path / "v.npy", samples / "people.jsonl")
    collection = Collection.open([str(vectors)])
    path = tmp_path / "v.usearch"
    build_index(collection, path, projection=projection)
    meta = orjson.loads(meta_path(path).read_bytes())
    assert meta["projection"] == projection
    from usearch.index import Index  # noqa: PLC0415 - the extra

    assert Index.metadata(str(path))["dimensions"] == (projection or 1024)
    queries = np.stack([collection.vector(r) for r in range(collection.count)])
    exact_rows, exact_scores = CollectionSearch(collection).search(queries, 4)
    rows, scores = CollectionSearch(collection, AnnIndex(collection, path)).search(queries, 4)
    assert rows[:, 0].tolist() == list(range(collection.count))
    if projection:
        assert np.array_equal(rows, exact_rows)
        assert np.allclose(scores, exact_scores, atol=1e-6)
