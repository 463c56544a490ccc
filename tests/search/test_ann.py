from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from jsonvec import Codebook
from jsonvec.cli import cli
from jsonvec.search.ann import AnnIndex, AnnIndexError, build_index, meta_path
from jsonvec.search.exact import CollectionSearch
from jsonvec.storage.collection import Collection
from tests.helpers import write_vectors

pytest.importorskip("usearch")


@pytest.fixture
def built(tmp_path: Path, samples: Path) -> tuple[Collection, Path]:
    vectors = write_vectors(tmp_path / "people.parquet", samples / "people.jsonl")
    collection = Collection.open([str(vectors)])
    path = tmp_path / "people.usearch"
    build_index(collection, path)
    return collection, path


def test_ann_agrees_with_exact_search(built: tuple[Collection, Path]) -> None:
    collection, path = built
    queries = np.stack([collection.vector(r) for r in range(collection.count)])
    exact_rows, exact_scores = CollectionSearch(collection).search(queries, 5)
    ann_rows, ann_scores = CollectionSearch(collection, AnnIndex(collection, path)).search(
        queries, 5
    )
    assert ann_rows[:, 0].tolist() == list(range(collection.count))
    assert ann_rows.shape == exact_rows.shape
    recall = np.mean([len(set(a) & set(e)) / 5 for a, e in zip(ann_rows, exact_rows, strict=True)])
    assert recall >= 0.9
    assert np.allclose(ann_scores[:, 0], exact_scores[:, 0], atol=1e-5)


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
        "rebuild it with jsonvec index build\n"
    )
