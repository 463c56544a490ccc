"""jsonvec.load and Vectors: reading vectors back, tables, and search answering with ids."""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

import jsonvec
from jsonvec import (
    Codebook,
    CodebookMismatchError,
    SearchError,
    Settings,
    VectorsError,
    encode_batch,
    encode_file,
    load,
)
from jsonvec.search.ann import build_index
from jsonvec.search.exact import CollectionSearch
from tests.helpers import run

BOOK = Codebook(dim=128, seed=3)
ROWS = [
    {"id": f"p{i:03d}", "name": name, "city": city, "age": 20 + i % 50}
    for i, (name, city) in enumerate(
        (f"{first} {last}", city)
        for first in ("Ann", "Maria", "Jonas", "Li", "Omar")
        for last in ("Smith", "Garcia", "Berg", "Wang", "Haddad", "Rossi")
        for city in ("Paris", "Madrid", "Oslo", "Cairo", "Rome", "Lima", "Kyiv")
    )
]


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "people.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in ROWS))
    return path


@pytest.fixture(scope="module")
def written(lines: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same records in every format: parquet (records kept), npy, jsonl, and a folder."""
    out = tmp_path_factory.mktemp("out")
    paths = {
        "parquet": out / "v.parquet",
        "npy": out / "v.npy",
        "jsonl": out / "v.jsonl",
        "folder": out / "parts",
    }
    encode_file(lines, paths["parquet"], codebook=BOOK, id_field="id", keep_records=True,
                batch_size=50)  # fmt: skip
    encode_file(lines, paths["npy"], codebook=BOOK, id_field="id")
    encode_file(lines, paths["jsonl"], codebook=BOOK, id_field="id")
    half = len(ROWS) // 2
    for part, chunk in enumerate((ROWS[:half], ROWS[half:])):
        source = out / f"chunk{part}.jsonl"
        source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in chunk))
        encode_file(source, f"{paths['folder']}/", codebook=BOOK, id_field="id", append=True)
    return paths


@pytest.mark.parametrize("kind", ["parquet", "npy", "jsonl", "folder"])
def test_load_reads_ids_and_vectors_as_written(written: dict[str, Path], kind: str) -> None:
    vectors = load(written[kind])
    expected = encode_batch(ROWS, BOOK)
    assert len(vectors) == len(ROWS)
    assert vectors.dim == 128
    assert vectors.ids == [r["id"] for r in ROWS]
    assert np.array_equal(vectors.vectors, expected)
    assert vectors.vectors.dtype == np.float32
    assert not vectors.vectors.flags.writeable
    assert vectors.fingerprint == BOOK.fingerprint


def test_one_npy_file_is_memory_mapped(written: dict[str, Path]) -> None:
    assert isinstance(load(written["npy"]).vectors, np.memmap)
    assert not isinstance(load(written["parquet"]).vectors, np.memmap)


def test_the_codebook_is_rebuilt_from_the_metadata(written: dict[str, Path]) -> None:
    assert load(written["parquet"]).codebook == BOOK
    assert load(written["npy"]).codebook == BOOK


def test_records_only_where_kept(written: dict[str, Path]) -> None:
    assert load(written["parquet"]).records == ROWS
    assert load(written["npy"]).records is None


def test_positional_ids(lines: Path, tmp_path: Path) -> None:
    encode_file(lines, tmp_path / "v.parquet")
    assert load(tmp_path / "v.parquet").ids == list(range(len(ROWS)))


def test_to_arrow_and_to_pandas(written: dict[str, Path]) -> None:
    vectors = load(written["parquet"])
    table = vectors.to_arrow()
    assert table.column_names == ["id", "vector", "record"]
    assert table.column("id").to_pylist() == vectors.ids
    flat = table.column("vector").combine_chunks().values.to_numpy()
    assert np.array_equal(flat.reshape(-1, 128), vectors.vectors)
    assert [orjson.loads(t) for t in table.column("record").to_pylist()] == ROWS
    meta = orjson.loads(table.schema.metadata[b"jsonvec"])
    assert meta["codebook"] == BOOK.fingerprint
    frame = vectors.to_pandas()
    assert list(frame.columns) == ["id", "vector", "record"]
    assert frame["id"].tolist() == vectors.ids
    assert np.array_equal(np.stack(frame["vector"].to_numpy()), vectors.vectors)
    assert frame["record"].tolist() == ROWS
    assert list(load(written["npy"]).to_pandas().columns) == ["id", "vector"]


@pytest.mark.parametrize("kind", ["parquet", "npy", "folder"])
def test_search_answers_with_ids_as_the_exact_search_does(
    written: dict[str, Path], kind: str
) -> None:
    vectors = load(written[kind])
    queries = [{"name": "Maria Garcia", "city": "Oslo"}, {"name": "Li Wang"}]
    hits = vectors.search(queries, k=4)
    rows, scores = CollectionSearch(vectors.collection).search(encode_batch(queries, BOOK), 4)
    assert [[h.id for h in q] for q in hits] == [[vectors.ids[r] for r in q] for q in rows]
    assert [[h.rank for h in q] for q in hits] == [[1, 2, 3, 4]] * 2
    assert np.allclose([[h.score for h in q] for q in hits], scores, atol=1e-6)
    assert hits[0][0].id == next(r["id"] for r in ROWS if r["name"] == "Maria Garcia"
                                 and r["city"] == "Oslo")  # fmt: skip


def test_a_dict_alone_is_one_query(written: dict[str, Path]) -> None:
    vectors = load(written["parquet"])
    query = {"name": "Omar Rossi", "city": "Lima"}
    assert vectors.search(query, k=3) == vectors.search([query], k=3)
    best = vectors.search(query, k=1, include_records=True)[0][0]
    assert best.record == {"id": best.id, **query, "age": best.record["age"]}


def test_search_vectors_takes_arrays_vectors_and_tables(written: dict[str, Path]) -> None:
    vectors = load(written["parquet"])
    some = load(written["npy"])
    by_array = vectors.search_vectors(some.vectors[:3], k=2)
    assert [q[0].id for q in by_array] == some.ids[:3]
    assert vectors.search_vectors(some.vectors[0], k=2) == by_array[:1]
    assert vectors.search_vectors(some, k=2)[:3] == by_array
    assert vectors.search_vectors(some.to_arrow(), k=2)[:3] == by_array
    assert vectors.search_vectors(some.vectors[:3], k=2, codebook=BOOK) == by_array


def test_search_refuses_another_codebook(written: dict[str, Path], lines: Path,
                                         tmp_path: Path) -> None:  # fmt: skip
    vectors = load(written["parquet"])
    other = Codebook(dim=128, seed=4)
    with pytest.raises(
        CodebookMismatchError, match=f"uses the given codebook \\({other.fingerprint}"
    ):
        vectors.search({"name": "Ann"}, codebook=other)
    with pytest.raises(CodebookMismatchError, match=f"queries with codebook {other.fingerprint}"):
        vectors.search_vectors(encode_batch([{"name": "Ann"}], other), codebook=other)
    encode_file(lines, tmp_path / "other.parquet", codebook=other)
    with pytest.raises(CodebookMismatchError, match="queries with codebook"):
        vectors.search_vectors(load(tmp_path / "other.parquet"))
    with pytest.raises(SearchError, match="queries have dim 64, the vectors have dim 128"):
        vectors.search_vectors(np.ones((1, 64), dtype=np.float32))


def test_search_edges(written: dict[str, Path], lines: Path, tmp_path: Path) -> None:
    vectors = load(written["npy"])
    assert vectors.search([], k=3) == []
    assert vectors.search({"name": "Ann"}, k=0) == [[]]
    assert len(vectors.search({"name": "Ann"}, k=10_000)[0]) == len(ROWS)
    with pytest.raises(SearchError, match="include_records needs"):
        vectors.search({"name": "Ann"}, include_records=True)
    with pytest.raises(ValueError, match="k must be at least 0"):
        vectors.search({"name": "Ann"}, k=-1)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    encode_file(empty, tmp_path / "empty.parquet", codebook=BOOK)
    assert load(tmp_path / "empty.parquet").search({"a": 1}) == [[]]


def test_load_with_an_ann_index(written: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("usearch")
    index = tmp_path / "v.usearch"
    collection = load(written["parquet"]).collection
    build_index(collection, index)
    exact = load(written["parquet"]).search({"name": "Jonas Berg"}, k=3)
    approximate = load(written["parquet"], index=index).search({"name": "Jonas Berg"}, k=3)
    assert [h.id for h in approximate[0]][:1] == [h.id for h in exact[0]][:1]


def test_load_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(VectorsError, match="no such vectors file"):
        load(tmp_path / "missing.parquet")


def test_repr(written: dict[str, Path]) -> None:
    assert repr(load(written["npy"])) == (
        f"Vectors(count={len(ROWS)}, dim=128, codebook={BOOK.fingerprint!r}, "
        f"files=[{written['npy']}])"
    )


def test_index_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="use jsonvec.CollectionSearch"):
        old: Any = jsonvec.Index
    assert old is CollectionSearch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jsonvec.CollectionSearch is CollectionSearch


def test_parquet_table_of_load_matches_the_file(written: dict[str, Path]) -> None:
    stored = pq.read_table(written["parquet"])
    table = load(written["parquet"]).to_arrow()
    assert table.column("vector").to_pylist() == stored.column("vector").to_pylist()
    assert Settings() == BOOK.settings


def test_heavy_dependencies_are_imported_only_when_needed(written: dict[str, Path]) -> None:
    script = f"""
import sys, jsonvec
vectors = jsonvec.load({str(written["parquet"])!r})
vectors.search({{"name": "Ann"}}, k=2)
vectors.to_arrow()
heavy = ("pandas", "sklearn", "usearch", "dask", "distributed")
print(sorted(m for m in heavy if m in sys.modules))
vectors.to_pandas()
print("pandas" in sys.modules)
"""
    done = run([sys.executable, "-c", script])
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split("\n")[:2] == ["[]", "True"]
    bare = "import sys, jsonvec; jsonvec.encode({}); print(sorted(sys.modules))"
    modules = run([sys.executable, "-c", bare]).stdout.decode()
    for heavy in ("pyarrow", "pandas", "sklearn", "usearch", "dask", "click", "tqdm"):
        assert f"'{heavy}'" not in modules, heavy


def test_the_readme_python_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python block of the README's "Python" section, in order, on samples/people.jsonl."""
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.jsonl").write_bytes((root / "samples" / "people.jsonl").read_bytes())
    people = [orjson.loads(line) for line in (tmp_path / "people.jsonl").read_bytes().splitlines()]
    namespace: dict[str, Any] = {
        "records": people, "stream": iter(people), "labels": [p["city"] for p in people],
        "test_records": people[:4], "test_labels": [p["city"] for p in people[:4]],
        "df": pd.DataFrame({"payload": [orjson.dumps(p).decode() for p in people]}),
    }  # fmt: skip
    for block in blocks:
        exec(compile(block.replace(": ...", ": pass"), "README.md", "exec"), namespace)
    assert namespace["m"].shape == (len(people), 1024)
    assert namespace["hits"][0].id in {p["id"] for p in people}
    assert len(namespace["df"]["vector"]) == len(people)


def _similar(*args: str) -> tuple[list[Any], str]:
    """``jsonvec similar`` through click: the hits' ids and stderr."""
    from click.testing import CliRunner  # noqa: PLC0415

    from jsonvec.cli import cli  # noqa: PLC0415

    done = CliRunner().invoke(cli, ["similar", *args], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return [orjson.loads(line)["id"] for line in done.stdout.splitlines()], done.stderr


def test_search_where_keeps_what_similar_where_keeps(written: dict[str, Path]) -> None:
    """where= (a dict, or PATH=VALUE texts) gives the hits of ``similar --where``, from the
    stored records or decoded from the vectors (and then says so, as data)."""
    query = {"name": "Ann Smith"}
    for kind in ("parquet", "npy"):
        vectors = load(written[kind])
        hits = vectors.search(query, k=5, where={"city": "Oslo"})
        assert hits == vectors.search(query, k=5, where=["city=Oslo"])
        two = vectors.search(query, where={"city": "Oslo", "age": 22})
        assert [h.id for h in two[0]] == [r["id"] for r in ROWS if r["city"] == "Oslo"
                                          and r["age"] == 22]  # fmt: skip
        ids, stderr = _similar(str(written[kind]), orjson.dumps(query).decode(), "-n", "5",
                               "--where", "city=Oslo")  # fmt: skip
        assert [h.id for h in hits[0]] == ids != []
        held = {r["id"] for r in ROWS if r["city"] == "Oslo"}
        assert set(ids) <= held
        decoded = [w for w in hits.warnings if "read from the vectors" in w]
        assert len(decoded) == (kind == "npy")
        assert all(w in stderr for w in decoded)


def test_search_by_field_ranks_as_similar_by_field(written: dict[str, Path]) -> None:
    vectors = load(written["parquet"])
    queries = [{"name": "Jonas Brg", "city": "Kyiv"}, {"name": "Li Wang"}]
    hits = vectors.search(queries, k=3, by_field=True)
    for query, found in zip(queries, hits, strict=True):
        ids, _ = _similar(str(written["parquet"]), orjson.dumps(query).decode(), "-n", "3",
                          "--by-field")  # fmt: skip
        assert [h.id for h in found] == ids
    assert hits[0][0].id == next(r["id"] for r in ROWS if r["name"] == "Jonas Berg"
                                 and r["city"] == "Kyiv")  # fmt: skip
    assert hits.warnings == []
    with pytest.raises(jsonvec.UsageError, match="--by-field needs vectors written with"):
        load(written["npy"]).search(queries, by_field=True)


def test_search_warnings_are_data(written: dict[str, Path]) -> None:
    """The low-score warning and why a query found nothing come with the hits, in words."""
    vectors = load(written["parquet"])
    good = vectors.search({"name": "Li Wang", "city": "Rome"}, k=2)
    assert good.warnings == []
    assert isinstance(good, list)
    far = vectors.search({"colour": "green", "size": [1, 2, 3]}, k=2)
    assert len(far.warnings) == 1
    assert "under" in far.warnings[0]
    ids, stderr = _similar(str(written["parquet"]), '{"colour": "green", "size": [1, 2, 3]}',
                           "-n", "2")  # fmt: skip
    assert ids == [h.id for h in far[0]]
    assert far.warnings[0] in stderr
    none = vectors.search({"name": "Li Wang"}, where={"city": "Atlantis"})
    assert none == [[]]
    assert none.warnings[-1].startswith("no hits: no record passes every")
    with pytest.raises(jsonvec.WhereError, match="PATH=VALUE"):
        vectors.search({"name": "Li Wang"}, where=["city"])
    with pytest.raises(jsonvec.ArgumentError, match="where must be a dict of path to value"):
        vectors.search({"name": "Li Wang"}, where="city=Oslo")
    copied = pickle.loads(pickle.dumps(far))
    assert copied == far
    assert copied.warnings == far.warnings
