"""jsonvec on Dask (the 'dask' extra): a real LocalCluster of worker processes, loopback only."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jsonvec import Codebook, Encoder, Settings
from jsonvec.cli import cli
from jsonvec.collection import Collection, VectorsError
from jsonvec.errors import InvalidLineError, OutputError
from jsonvec.pipeline import EncodeOptions, encode_to
from jsonvec.reader import read_lines
from tests.helpers import jsonvec, run

distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
db = pytest.importorskip("dask.bag", reason="the 'dask' extra is not installed")

from jsonvec.dask import encode_bag, encode_files  # noqa: E402


@pytest.fixture(scope="module", params=[1, 2], ids=["1 worker", "2 workers"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=request.param,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


def manifest_of(folder: Path) -> Any:
    return orjson.loads((folder / "_jsonvec_manifest.json").read_bytes())


def records_of(samples: Path) -> list[Any]:
    lines = b"".join((samples / name).read_bytes() for name in ("people.jsonl", "products.jsonl"))
    return [orjson.loads(line) for line in lines.splitlines() if line.strip()]


@pytest.mark.parametrize("partitions", [1, 5])
@pytest.mark.parametrize(
    "book",
    [Codebook(), Codebook(dim=256, seed=9, settings=Settings(set_arrays=("tags",)))],
    ids=["default", "dim 256"],
)
def test_encode_bag_gives_the_vectors_of_one_machine(
    client: Any, samples: Path, partitions: int, book: Codebook
) -> None:
    records = records_of(samples)
    bag = db.from_sequence(records, npartitions=partitions)
    vectors = encode_bag(bag, book).compute()
    assert vectors.dtype == np.float32
    assert vectors.tobytes() == Encoder(book).encode_batch(records).tobytes()


def test_encode_bag_of_json_text(client: Any, samples: Path, tmp_path: Path) -> None:
    parts = []
    for i, name in enumerate(("people.jsonl", "products.jsonl")):
        parts.append(tmp_path / f"{i}.jsonl")
        parts[-1].write_bytes((samples / name).read_bytes())
    bag = db.read_text([str(p) for p in parts], blocksize=None).map(orjson.loads)
    vectors = encode_bag(bag).compute()
    assert vectors.tobytes() == Encoder().encode_batch(records_of(samples)).tobytes()


def single_machine(tmp_path: Path, inputs: list[Path], **options: Any) -> Any:
    """Ids and vectors of `jsonvec encode` in one process, and the table itself."""
    out = tmp_path / "one.parquet"
    encode_to(
        str(out), read_lines([str(p) for p in inputs]), Encoder(), EncodeOptions(**options),
        stdout=None,  # type: ignore[arg-type]
    )  # fmt: skip
    return pq.read_table(out)


def inputs_of(samples: Path, tmp_path: Path) -> list[Path]:
    """Three inputs: plain, gzip, and one with blank lines, a BOM and no last newline."""
    plain = tmp_path / "people.jsonl"
    plain.write_bytes((samples / "people.jsonl").read_bytes())
    packed = tmp_path / "products.jsonl.gz"
    packed.write_bytes(gzip.compress((samples / "products.jsonl").read_bytes()))
    odd = tmp_path / "odd.jsonl"
    odd.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n  \n{"a": [2, "x"]}\r\n"bare"\n\n{"b": {}}')
    return [plain, packed, odd]


@pytest.mark.parametrize("size", [256, 1 << 20], ids=["small partitions", "one per file"])
def test_encode_files_gives_the_output_of_one_machine(
    client: Any, samples: Path, tmp_path: Path, size: int
) -> None:
    inputs = inputs_of(samples, tmp_path)
    summary = encode_files(
        [str(p) for p in inputs], str(tmp_path / "out"), partition_size=size, client=client
    )
    manifest = manifest_of(tmp_path / "out")
    assert (summary.records, summary.blank, summary.output) == (24, 3, str(tmp_path / "out"))
    expected = single_machine(tmp_path, inputs)
    parts = ds.dataset(tmp_path / "out", format="parquet")  # skips the _manifest
    got = pq.read_table(tmp_path / "out" / manifest["parts"][0]).schema
    assert got.metadata[b"jsonvec"] == expected.schema.metadata[b"jsonvec"]
    table = Collection.open([str(tmp_path / "out")])
    assert table.count == expected.num_rows == manifest["records"] == parts.count_rows()
    assert table.ids(range(table.count)) == expected.column("id").to_pylist()
    vectors = np.concatenate([block for _, block in table.chunks()])
    assert vectors.tobytes() == np.stack(expected.column("vector").to_numpy(False)).tobytes()
    if size == 256:
        assert len(manifest["parts"]) > len(inputs)


def test_ids_from_a_field_and_kept_records(client: Any, samples: Path, tmp_path: Path) -> None:
    source = samples / "people.jsonl"
    encode_files([str(source)], str(tmp_path / "out"), id_field="id", keep_records=True,
                 partition_size=300, client=client)  # fmt: skip
    expected = single_machine(tmp_path, [source], id_field="id", keep_records=True)
    table = Collection.open([str(tmp_path / "out")])
    assert table.ids(range(table.count)) == expected.column("id").to_pylist()
    assert list(table.all_records()) == [
        orjson.loads(t) for t in expected.column("record").to_pylist()
    ]


def test_an_invalid_line_fails_the_run_and_leaves_nothing(
    client: Any, samples: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    good = (samples / "people.jsonl").read_bytes()
    bad.write_bytes(good + b"{oops\n" + good + b"[also bad\n")
    out = tmp_path / "out"
    with pytest.raises(InvalidLineError, match=r"/bad\.jsonl:13: invalid JSON"):
        encode_files([str(bad)], str(out), partition_size=200, client=client)
    assert list(out.iterdir()) == []


def test_a_folder_holding_a_run_is_refused(client: Any, samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    encode_files([str(samples / "people.jsonl")], str(out), client=client)
    with pytest.raises(OutputError, match="holds vectors already: add to them with --append"):
        encode_files([str(samples / "people.jsonl")], str(out), client=client)


def test_readers_use_only_the_parts_of_the_manifest(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    encode_files([str(samples / "people.jsonl")], str(out))  # Dask's default scheduler
    stray = out / "part-099999.parquet"
    stray.write_bytes((out / "part-000000.parquet").read_bytes())  # a part of a failed run
    assert Collection.open([str(out)]).count == 12
    (out / "part-000000.parquet").unlink()
    with pytest.raises(VectorsError, match=r"lists part-000000\.parquet, which is missing"):
        Collection.open([str(out)])


def test_the_command_line_on_a_cluster(client: Any, samples: Path, tmp_path: Path) -> None:
    """`encode --engine dask --scheduler ADDRESS`: the parts, and `similar` on the folder
    gives the hits of the one-machine file."""
    runner = CliRunner()
    inputs = [str(samples / "people.jsonl"), str(samples / "products.jsonl")]
    out = tmp_path / "out"
    address = client.scheduler.address
    result = runner.invoke(cli, ["encode", *inputs, "-o", f"{out}/", "--engine", "dask",
                                 "--scheduler", address, "--partition-size", "600"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("jsonvec: encoded 20 records in ")
    assert len(manifest_of(out)["parts"]) == 4
    one = tmp_path / "one.parquet"
    assert runner.invoke(cli, ["encode", *inputs, "-o", str(one), "-q"]).exit_code == 0
    query = '{"name": "Maria Garcia", "city": "Madrid"}'
    hits = [runner.invoke(cli, ["similar", str(where), query, "-n", "5"]) for where in (out, one)]
    strip = [[{k: v for k, v in orjson.loads(x).items() if k != "source"}
              for x in h.stdout.splitlines()] for h in hits]  # fmt: skip
    assert strip[0] == strip[1]


def test_a_local_cluster_is_started_and_closed(samples: Path, tmp_path: Path) -> None:
    """No --scheduler: a LocalCluster of this machine's cores, gone after the run."""
    command = jsonvec("encode", samples / "people.jsonl", "-o", f"{tmp_path}/out/",
                      "--engine", "dask", "-q")  # fmt: skip
    done = run(command)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "_jsonvec_manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.parquet"], "--engine dask writes a folder of parts: name it OUTPUT/"),
        (["-o", "out/", "--jobs", "2"], "--jobs does not work with --engine dask"),
        (["-", "-o", "out/"], "--engine dask reads files"),
        (["-o", "out/", "--partition-size", "lots"], "a size such as 64MB or 1GiB"),
    ],
)
def test_engine_usage_errors(samples: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        cli, ["encode", str(samples / "people.jsonl"), "--engine", "dask", *args]
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_scheduler_needs_the_dask_engine(samples: Path) -> None:
    result = CliRunner().invoke(
        cli, ["encode", str(samples / "people.jsonl"), "-o", "-", "--scheduler", "tcp://x:1"]
    )
    assert result.exit_code == 2
    assert "--scheduler needs --engine dask" in result.stderr


def test_a_partition_of_many_records_is_encoded_a_batch_at_a_time(
    client: Any, tmp_path: Path
) -> None:
    source = tmp_path / "many.jsonl"
    source.write_bytes(b"".join(b'{"n": %d, "t": "w%d"}\n' % (i, i % 97) for i in range(3000)))
    encode_files([str(source)], str(tmp_path / "out"), client=client)
    manifest = manifest_of(tmp_path / "out")
    assert manifest["rows"] == [3000]
    part = pq.ParquetFile(tmp_path / "out" / manifest["parts"][0])
    assert part.metadata.num_row_groups == 3  # 1,024 records a row group
    expected = single_machine(tmp_path, [source])
    table = Collection.open([str(tmp_path / "out")])
    vectors = np.concatenate([block for _, block in table.chunks()])
    assert vectors.tobytes() == np.stack(expected.column("vector").to_numpy(False)).tobytes()


def test_a_missing_input_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    out = f"{tmp_path}/out/"
    missing = runner.invoke(cli, ["encode", str(tmp_path / "nothere.jsonl"), "-o", out,
                                  "--engine", "dask"])  # fmt: skip
    assert missing.exit_code == 1, (missing.output, missing.exception)
    reason = "cannot read: No such file or directory"
    assert missing.stderr == f"Error: {tmp_path}/nothere.jsonl: {reason}\n"
    assert not (tmp_path / "out").exists()
