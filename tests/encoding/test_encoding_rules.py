"""The encoding rules travel with every form of vectors: files, manifests of folders, tables
from to_arrow and ANN indexes carry them; every reader checks them; only an integer counts."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

import jsonvec
from jsonvec import AnnIndexError, OutputError, SearchError, VectorsError
from jsonvec.dask import encode_files
from jsonvec.search.ann import AnnIndex, build_index, meta_path
from jsonvec.storage.layout import MANIFEST
from jsonvec.version import ENCODING
from tests.helpers import write_vectors
from tests.storage.test_collection import say_encoding


@pytest.fixture
def people(tmp_path: Path, samples: Path) -> Path:
    return samples / "people.jsonl"


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".jsonl"])
@pytest.mark.parametrize("written", [2.0, "2", True, [2]])
def test_only_an_integer_is_an_encoding(
    tmp_path: Path, people: Path, suffix: str, written: object
) -> None:
    path = write_vectors(tmp_path / f"v{suffix}", people, keep_records=False)
    say_encoding(path, written)  # type: ignore[arg-type]
    with pytest.raises(VectorsError, match=r"jsonvec metadata is corrupted \(encoding "):
        jsonvec.load(path).ids  # noqa: B018 - reading is the test


def folder_of_parts(tmp_path: Path, people: Path) -> Path:
    folder = tmp_path / "parts"
    jsonvec.encode_file(people, f"{folder}/", append=True, id_field="id")
    jsonvec.encode_file(people, folder, append=True, id_field="id")
    encode_files([str(people)], f"{folder}/", append=True, id_field="id")  # writes a manifest
    return folder


def say_manifest_encoding(folder: Path, encoding: object) -> None:
    manifest = folder / MANIFEST
    document = orjson.loads(manifest.read_bytes())
    manifest.write_bytes(orjson.dumps({**document, "encoding": encoding}))


def test_a_manifest_carries_the_encoding_and_is_checked(tmp_path: Path, people: Path) -> None:
    folder = folder_of_parts(tmp_path, people)
    assert orjson.loads((folder / MANIFEST).read_bytes())["encoding"] == ENCODING
    for encoding, found in ((1, "encoding 1"), (3.0, "corrupted (encoding 3.0)")):
        say_manifest_encoding(folder, encoding)
        with pytest.raises(
            VectorsError, match=re.escape(f"{MANIFEST}: ") + ".*" + re.escape(found)
        ):
            jsonvec.load(folder)
        with pytest.raises(OutputError, match=re.escape(found)):
            jsonvec.encode_file(people, folder, append=True, id_field="id")
        # an append on a cluster reads only the manifest: it is refused all the same
        with pytest.raises(OutputError, match=re.escape(found)):
            encode_files([str(people)], f"{folder}/", append=True, id_field="id")
        assert len(list(folder.glob("part-*.parquet"))) == 3


def test_a_table_carries_the_encoding_and_is_checked(tmp_path: Path, people: Path) -> None:
    path = write_vectors(tmp_path / "v.parquet", people)
    vectors = jsonvec.load(path)
    table = vectors.to_arrow()
    meta = orjson.loads(table.schema.metadata[b"jsonvec"])
    assert meta["encoding"] == ENCODING
    assert vectors.search_vectors(table, k=1)[0][0].score == pytest.approx(1.0, abs=1e-6)
    for encoding in (1, 2, 4, 3.0):
        edited = {b"jsonvec": orjson.dumps({**meta, "encoding": encoding})}
        other: pa.Table = table.replace_schema_metadata(edited)
        with pytest.raises(SearchError, match="the queries' table: "):
            vectors.search_vectors(other, k=1)


def test_an_index_carries_the_encoding_and_is_checked(tmp_path: Path, people: Path) -> None:
    path = write_vectors(tmp_path / "v.parquet", people)
    index = tmp_path / "v.usearch"
    collection = jsonvec.load(path).collection
    build_index(collection, index)
    meta = orjson.loads(meta_path(index).read_bytes())
    assert meta["encoding"] == ENCODING
    AnnIndex(collection, index)
    for encoding, found in ((1, "encoding 1"), (3.0, r"corrupted \(encoding 3.0\)")):
        meta_path(index).write_bytes(orjson.dumps({**meta, "encoding": encoding}))
        with pytest.raises(AnnIndexError, match=found):
            AnnIndex(collection, index)
    meta.pop("encoding")  # an index of jsonvec 0.3: the rules of 0.2 and 0.3
    meta_path(index).write_bytes(orjson.dumps(meta))
    with pytest.raises(AnnIndexError, match=r"encoding 2\)"):
        AnnIndex(collection, index)
