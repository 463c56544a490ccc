from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest

import jsonvec
from jsonvec import Codebook, encode_batch
from jsonvec.storage.collection import Collection, NotFoundError, VectorsError, resolve
from tests.helpers import write_vectors


@pytest.fixture
def folder(tmp_path: Path, samples: Path) -> Path:
    day = tmp_path / "daily"
    day.mkdir()
    write_vectors(day / "a.parquet", samples / "people.jsonl")
    write_vectors(day / "b.npy", samples / "products.jsonl", id_field="sku")
    (day / "notes.txt").write_text("not vectors")
    return day


def people_and_products(samples: Path) -> list[object]:
    return [
        orjson.loads(line)
        for name in ("people.jsonl", "products.jsonl")
        for line in (samples / name).read_bytes().splitlines()
    ]


def test_resolve_files_folders_and_globs(folder: Path) -> None:
    assert [p.name for p in resolve([str(folder)])] == ["a.parquet", "b.npy"]
    assert [p.name for p in resolve([str(folder / "*.npy")])] == ["b.npy"]
    assert [p.name for p in resolve([str(folder / "a.parquet")] * 2)] == ["a.parquet"] * 2
    with pytest.raises(VectorsError, match=r"nope\.parquet: no such vectors file"):
        resolve([str(folder / "nope.parquet")])


def test_rows_are_numbered_across_files(folder: Path, samples: Path) -> None:
    collection = Collection.open([str(folder)])
    assert (collection.count, collection.dim) == (20, 1024)
    assert collection.fingerprint == Codebook().fingerprint
    starts, blocks = zip(*collection.chunks(rows=5), strict=True)
    assert starts == (0, 5, 10, 12, 17)
    assert np.array_equal(np.concatenate(blocks), encode_batch(people_and_products(samples)))
    assert collection.ids([12, 0, 19]) == ["A-100", "p01", "E-500"]
    assert np.array_equal(collection.vector(13), np.concatenate(blocks)[13])
    assert collection.find("B-200") == 14
    assert collection.find("p12") == 11
    with pytest.raises(NotFoundError, match="id 'zz' is not in the vectors"):
        collection.find("zz")


def test_records_come_back_as_json(folder: Path) -> None:
    collection = Collection.open([str(folder / "a.parquet")])
    assert collection.has_records
    assert collection.records([1])[0]["name"] == "Johnathan Smith"
    assert not Collection.open([str(folder)]).has_records


def test_integer_ids_are_found_by_text(tmp_path: Path, samples: Path) -> None:
    path = write_vectors(tmp_path / "v.npy", samples / "people.jsonl", id_field=None)
    collection = Collection.open([str(path)])
    assert collection.find("3") == 3
    assert collection.ids([3]) == [3]


def test_codebooks_cannot_be_mixed(tmp_path: Path, samples: Path) -> None:
    a = write_vectors(tmp_path / "a.parquet", samples / "people.jsonl")
    b = write_vectors(tmp_path / "b.parquet", samples / "people.jsonl", Codebook(seed=1))
    with pytest.raises(VectorsError, match=r"was encoded with codebook .* cannot be mixed"):
        Collection.open([str(a), str(b)])
    c = write_vectors(tmp_path / "c.parquet", samples / "people.jsonl", Codebook(dim=64))
    with pytest.raises(VectorsError, match="codebook"):
        Collection.open([str(a), str(c)])


def test_damaged_and_foreign_files(tmp_path: Path, samples: Path) -> None:
    npy = write_vectors(tmp_path / "v.npy", samples / "people.jsonl")
    meta = tmp_path / "v.npy.meta"
    meta.write_bytes(meta.read_bytes().replace(b'"count": 12', b'"count": 13'))
    with pytest.raises(VectorsError, match="holds 12 rows of dim 1024, but its metadata says 13"):
        Collection.open([str(npy)])
    meta.unlink()
    with pytest.raises(VectorsError, match="not a jsonvec vectors file"):
        Collection.open([str(npy)])
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(VectorsError, match=r"bad\.parquet: cannot read vectors"):
        Collection.open([str(bad)])


def say_encoding(path: Path, encoding: int | None) -> None:
    """Make a vectors file say it was computed by the encoding rules ``encoding`` (None: say
    nothing, as files of jsonvec 0.2 and 0.3 did)."""

    def edit(meta: dict[str, Any]) -> dict[str, Any]:
        meta.pop("encoding", None)
        return meta if encoding is None else {**meta, "encoding": encoding}

    if path.suffix == ".npy":
        sidecar = path.with_name(path.name + ".meta")
        sidecar.write_bytes(orjson.dumps(edit(orjson.loads(sidecar.read_bytes()))))
    elif path.suffix == ".jsonl":
        lines = path.read_bytes().splitlines()
        path.write_bytes(b"".join(orjson.dumps(edit(orjson.loads(x))) + b"\n" for x in lines))
    else:
        table = pq.read_table(path)
        metadata = dict(table.schema.metadata)
        metadata[b"jsonvec"] = orjson.dumps(edit(orjson.loads(metadata[b"jsonvec"])))
        pq.write_table(table.replace_schema_metadata(metadata), path)


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".jsonl"])
def test_vectors_of_other_encoding_rules_are_refused(
    tmp_path: Path, samples: Path, suffix: str
) -> None:
    path = write_vectors(tmp_path / f"v{suffix}", samples / "people.jsonl", keep_records=False)
    assert Collection.open([str(path)]).count == 12
    where = f"{path}:1" if suffix == ".jsonl" else str(path)
    for encoding, release, said in ((None, "0.2", 2), (1, "0.1", 1), (2, "0.2", 2)):
        say_encoding(path, encoding)  # None: written before encodings were stored (0.2, 0.3)
        with pytest.raises(VectorsError) as caught:
            Collection.open([str(path)])
        assert str(caught.value) == (
            f"{where}: encoded by jsonvec {release} rules (encoding {said}), which give other "
            "vectors than this jsonvec's (encoding 3): re-encode the records"
        )
    say_encoding(path, 4)
    with pytest.raises(VectorsError) as caught:
        Collection.open([str(path)])
    assert str(caught.value) == (
        f"{where}: encoded by the rules of a newer jsonvec (encoding 4; this is jsonvec "
        f"{jsonvec.__version__}, encoding 3): upgrade jsonvec, or re-encode"
    )


def test_a_file_says_its_encoding_rules(tmp_path: Path, samples: Path) -> None:
    npy = write_vectors(tmp_path / "v.npy", samples / "people.jsonl")
    assert orjson.loads((tmp_path / "v.npy.meta").read_bytes())["encoding"] == 3
    parquet = write_vectors(tmp_path / "v.parquet", samples / "people.jsonl")
    meta = orjson.loads(pq.read_schema(parquet).metadata[b"jsonvec"])
    assert meta["encoding"] == 3
    lines = write_vectors(tmp_path / "v.jsonl", samples / "people.jsonl").read_bytes()
    assert all(orjson.loads(x)["encoding"] == 3 for x in lines.splitlines())
    assert npy.exists()


def scan(path: Path) -> None:
    collection = Collection.open([str(path)])
    for _ in collection.chunks():
        pass


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_flipped_bytes_in_vectors_are_detected(tmp_path: Path, samples: Path, suffix: str) -> None:
    """Checksums (CRC-32 of the .npy data, of every Parquet page) catch damaged vectors."""
    path = write_vectors(tmp_path / f"v{suffix}", samples / "people.jsonl", keep_records=False)
    original = path.read_bytes()
    scan(path)
    # flip bytes across the middle of the file, where the vectors are
    for offset in range(len(original) // 4, 3 * len(original) // 4, len(original) // 40):
        damaged = bytearray(original)
        damaged[offset] ^= 0x40
        path.write_bytes(bytes(damaged))
        with pytest.raises(VectorsError) as caught:
            scan(path)
        assert str(caught.value).startswith(f"{path}: ")
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_truncated_vectors_are_detected(tmp_path: Path, samples: Path, suffix: str) -> None:
    path = write_vectors(tmp_path / f"v{suffix}", samples / "people.jsonl", keep_records=False)
    original = path.read_bytes()
    for size in (len(original) // 3, len(original) - 100):
        path.write_bytes(original[:size])
        with pytest.raises(VectorsError, match=f"^{path}: "):
            scan(path)


def test_sidecars_of_jsonvec_0_2_are_read(tmp_path: Path, samples: Path) -> None:
    """0.2 wrote NAME.ids.jsonl and NAME.meta.json beside NAME.npy: still readable."""
    npy = write_vectors(tmp_path / "v.npy", samples / "people.jsonl")
    (tmp_path / "v.npy.ids").rename(tmp_path / "v.ids.jsonl")
    (tmp_path / "v.npy.meta").rename(tmp_path / "v.meta.json")
    collection = Collection.open([str(npy)])
    assert collection.count == 12
    assert collection.ids([0, 11]) == ["p01", "p12"]
