"""jsonvec on Dask (the 'dask' extra): a real LocalCluster of worker processes, loopback only."""

from __future__ import annotations

import functools
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from jsonvec import Codebook, Encoder, Settings
from jsonvec.cli import cli
from jsonvec.errors import EncodeError, InvalidLineError, OutputError, TooManyInvalidError
from jsonvec.records.reader import Line, read_lines
from jsonvec.run.encode_file import encode_to
from jsonvec.run.options import EncodeOptions
from jsonvec.storage.collection import Collection, VectorsError
from tests import object_store
from tests.helpers import jsonvec, run

distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
db = pytest.importorskip("dask.bag", reason="the 'dask' extra is not installed")

from jsonvec.dask import connect, encode_bag, encode_column, encode_files  # noqa: E402
from jsonvec.dask.ranges import Range, count_lines, lines_of  # noqa: E402


@pytest.fixture(scope="module", params=[1, 2], ids=["1 worker", "2 workers"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    with connect(workers=request.param) as connected:
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
    assert len(manifest_of(out)["parts"]) > len(inputs)  # the inputs were cut
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
    assert sum(manifest["rows"]) == 3000
    assert max(manifest["rows"]) > 1024  # (2 workers: 2 partitions, made even)
    for name, rows in zip(manifest["parts"], manifest["rows"], strict=True):
        part = pq.ParquetFile(tmp_path / "out" / name)
        assert part.metadata.num_row_groups == -(-rows // 1024)  # 1,024 records a group
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


# -- bad lines, appends, search, DataFrames: as on one machine ------------------------------


def noisy_input(tmp_path: Path, lines: int = 400) -> Path:
    """Records with invalid lines (bad JSON, a missing id) and blank lines spread along."""
    out = []
    for i in range(lines):
        if i % 37 == 5:
            out.append(b"{not json %d\n" % i)
        elif i % 53 == 7:
            out.append(b'{"no_id": %d}\n' % i)
        elif i % 41 == 3:
            out.append(b"\n")
        else:
            out.append(b'{"id": "r%d", "n": %d, "tag": "t%d"}\n' % (i % 150, i, i % 7))
    path = tmp_path / "noisy.jsonl"
    path.write_bytes(b"".join(out))
    return path


def one_machine(tmp_path: Path, inputs: list[Path], out: Path, **options: Any) -> Any:
    """`jsonvec encode` in one process into `out`: its summary and the rejected bytes."""
    rejects = io.BytesIO()
    summary = encode_to(
        str(out) + ("" if out.suffix else "/"), read_lines([str(p) for p in inputs]),
        Encoder(), EncodeOptions(**options),
        stdout=io.BytesIO(), rejects=rejects,
    )  # fmt: skip
    return summary, rejects.getvalue()


def rows_of(where: Path) -> tuple[list[Any], bytes]:
    table = Collection.open([str(where)])
    vectors = np.concatenate([block for _, block in table.chunks()])
    return table.ids(range(table.count)), vectors.tobytes()


@pytest.mark.parametrize("id_field", [None, "id"], ids=["positions", "id field"])
def test_skipped_lines_and_rejects_as_on_one_machine(
    client: Any, tmp_path: Path, id_field: str | None
) -> None:
    source = noisy_input(tmp_path)
    expected, rejected = one_machine(tmp_path, [source], tmp_path / "one.parquet",
                                     skip_invalid=True, id_field=id_field)  # fmt: skip
    summary = encode_files([str(source)], str(tmp_path / "out"), id_field=id_field,
                           skip_invalid=True, rejects=str(tmp_path / "bad.jsonl"),
                           partition_size=700, client=client)  # fmt: skip
    assert len(manifest_of(tmp_path / "out")["parts"]) > 10
    assert (tmp_path / "bad.jsonl").read_bytes() == rejected
    counts = ("records", "invalid", "blank", "first_invalid")
    assert [getattr(summary, c) for c in counts] == [getattr(expected, c) for c in counts]
    assert rows_of(tmp_path / "out") == rows_of(tmp_path / "one.parquet")


@pytest.mark.parametrize("allowed", [0, 3, 10, 11, 40])
def test_max_invalid_counts_over_the_whole_run(client: Any, tmp_path: Path, allowed: int) -> None:
    source = noisy_input(tmp_path)  # 11 bad JSON lines, 7 without an id (not invalid here)
    out = tmp_path / "out"
    run = functools.partial(encode_files, [str(source)], str(out), max_invalid=allowed,
                            partition_size=500, client=client)  # fmt: skip
    local = functools.partial(one_machine, tmp_path, [source], tmp_path / "one.parquet",
                              skip_invalid=True, max_invalid=allowed)  # fmt: skip
    if allowed >= 11:
        assert run().invalid == local()[0].invalid == 11
        return
    with pytest.raises(TooManyInvalidError) as expected:
        local()
    with pytest.raises(TooManyInvalidError) as caught:
        run()
    assert str(caught.value) == str(expected.value)
    assert not out.exists() or list(out.iterdir()) == []


def test_the_first_invalid_line_in_input_order_fails_the_run(client: Any, tmp_path: Path) -> None:
    """Bad lines in several partitions: the one named is the first of the input, whichever
    task met its own first."""
    source = noisy_input(tmp_path)
    with pytest.raises(InvalidLineError) as caught:
        encode_files([str(source)], str(tmp_path / "out"), partition_size=300, client=client)
    with pytest.raises(InvalidLineError) as local:
        one_machine(tmp_path, [source], tmp_path / "one.parquet")
    assert str(caught.value) == str(local.value)
    assert str(caught.value).startswith(f"{source}:6: invalid JSON: ")
    assert list((tmp_path / "out").iterdir()) == []


def split_input(tmp_path: Path, source: Path, at: int) -> tuple[Path, Path]:
    lines = source.read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"".join(lines[:at]))
    second.write_bytes(b"".join(lines[at:]))
    return first, second


@pytest.mark.parametrize("engines", [("dask", "dask"), ("local", "dask"), ("dask", "local")])
@pytest.mark.parametrize("id_field", [None, "id"], ids=["positions", "id field"])
def test_appends_mix_the_engines_and_continue_the_ids(
    client: Any, tmp_path: Path, engines: tuple[str, str], id_field: str | None
) -> None:
    first, second = split_input(tmp_path, noisy_input(tmp_path), 230)
    out = tmp_path / "out"
    for engine, source in zip(engines, (first, second), strict=True):
        if engine == "dask":
            encode_files([str(source)], str(out), id_field=id_field, skip_invalid=True,
                         append=True, partition_size=600, client=client)  # fmt: skip
        else:
            one_machine(tmp_path, [source], out, skip_invalid=True, id_field=id_field,
                        append=True)  # fmt: skip
    for source in (first, second):
        one_machine(tmp_path, [source], tmp_path / "one.parquet", skip_invalid=True,
                    id_field=id_field, append=True)  # fmt: skip
    assert rows_of(out) == rows_of(tmp_path / "one.parquet")
    manifest = manifest_of(out)
    assert manifest["records"] == Collection.open([str(out)]).count
    assert sorted(manifest["parts"]) == sorted(p.name for p in out.glob("part-*.parquet"))


@pytest.mark.parametrize("size", [400, 1 << 20], ids=["many partitions", "one"])
def test_skip_existing_as_on_one_machine(client: Any, tmp_path: Path, size: int) -> None:
    """Ids already in the folder, and ids repeated within the run (across partitions), are
    left out exactly as one machine leaves them out."""
    first, second = split_input(tmp_path, noisy_input(tmp_path), 120)
    out, one = tmp_path / "out", tmp_path / "one.parquet"
    options: dict[str, Any] = {"skip_invalid": True, "id_field": "id", "append": True}
    encode_files([str(first)], str(out), partition_size=size, client=client, **options)
    one_machine(tmp_path, [first], one, **options)
    summary = encode_files([str(second)], str(out), partition_size=size, client=client,
                           skip_existing=True, **options)  # fmt: skip
    expected, _ = one_machine(tmp_path, [second], one, skip_existing=True, **options)
    assert (summary.records, summary.existing, summary.repeated) == (
        expected.records, expected.existing, expected.repeated,
    )  # fmt: skip
    assert expected.existing > 0
    assert expected.repeated > 0
    assert rows_of(out) == rows_of(one)


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_reduced_types_as_on_one_machine(client: Any, tmp_path: Path, dtype: str) -> None:
    """A folder of float16 or int8 parts holds the bytes one machine stores; its manifest
    says the type, and an append of another type is refused from the manifest alone."""
    first, second = split_input(tmp_path, noisy_input(tmp_path), 230)
    out, one = tmp_path / "out", tmp_path / "one.parquet"
    options: dict[str, Any] = {"skip_invalid": True, "append": True, "dtype": dtype}
    for source in (first, second):
        encode_files([str(source)], str(out), partition_size=900, client=client, **options)
        one_machine(tmp_path, [source], one, **options)
    assert rows_of(out) == rows_of(one)
    assert manifest_of(out)["dtype"] == dtype
    stored = pq.read_table(out / manifest_of(out)["parts"][0]).column("vector")
    assert stored.type == (pa.binary(1024) if dtype == "int8" else pa.list_(
        pa.field("item", pa.float16(), nullable=False), 1024))  # fmt: skip
    with pytest.raises(OutputError, match=f"stores {dtype} vectors, this run writes float32"):
        encode_files([str(first)], str(out), skip_invalid=True, append=True, client=client)


def test_an_append_with_nothing_new_writes_nothing(client: Any, tmp_path: Path) -> None:
    source = noisy_input(tmp_path)
    out = tmp_path / "out"
    options: dict[str, Any] = {"skip_invalid": True, "id_field": "id", "append": True}
    encode_files([str(source)], str(out), client=client, **options)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    summary = encode_files([str(source)], str(out), client=client, skip_existing=True,
                           partition_size=500, **options)  # fmt: skip
    assert (summary.records, summary.output) == (0, None)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_an_append_of_another_codebook_is_refused(client: Any, tmp_path: Path) -> None:
    source = noisy_input(tmp_path)
    out = tmp_path / "out"
    encode_files([str(source)], str(out), skip_invalid=True, client=client)
    other = Codebook(dim=256, seed=3)
    with pytest.raises(OutputError, match="vectors of two codebooks cannot be mixed"):
        encode_files([str(source)], str(out), other, skip_invalid=True, append=True,
                     client=client)  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_similar_on_the_cluster_gives_the_hits_of_one_machine(
    client: Any, tmp_path: Path, dtype: str
) -> None:
    source = noisy_input(tmp_path)
    out = tmp_path / "out"
    encode_files([str(source)], str(out), id_field="id", skip_invalid=True,
                 partition_size=900, client=client, dtype=dtype)  # fmt: skip
    runner = CliRunner()
    queries = tmp_path / "queries.jsonl"
    queries.write_bytes(b'{"id": "r3", "n": 3}\n{"tag": "t2"}\n{"n": 250, "tag": "t5"}\n')
    common = ["-i", str(queries), "-n", "7"]
    local = runner.invoke(cli, ["similar", str(out), *common])
    on_dask = runner.invoke(cli, ["similar", str(out), *common, "--engine", "dask",
                                  "--scheduler", client.scheduler.address])  # fmt: skip
    assert on_dask.exit_code == 0, on_dask.output
    assert on_dask.stdout == local.stdout
    assert len(local.stdout.splitlines()) == 21


def test_encode_column_of_a_dataframe(client: Any, samples: Path) -> None:
    dask = pytest.importorskip("dask", reason="the 'dask' extra is not installed")
    dd = pytest.importorskip("dask.dataframe", reason="the 'dask' extra is not installed")
    pandas = pytest.importorskip("pandas")
    records = records_of(samples)
    texts = [orjson.dumps(r).decode() for r in records]
    frame = dd.from_pandas(pandas.DataFrame({"payload": texts, "n": range(len(texts))}),
                           npartitions=3)  # fmt: skip
    frame["vector"] = encode_column(frame["payload"])
    got = frame.compute()
    assert list(got["n"]) == list(range(len(texts)))
    assert np.stack(got["vector"]).tobytes() == Encoder().encode_batch(records).tobytes()
    column = pandas.Series(records, dtype=object, name="r")
    with dask.config.set({"dataframe.convert-string": False}):
        dicts = dd.from_pandas(column, npartitions=2)
        vectors = np.stack(encode_column(dicts, input_type="dict").compute())
    assert vectors.tobytes() == Encoder().encode_batch(records).tobytes()
    as_text = dd.from_pandas(column, npartitions=2)  # Dask's default: objects become text
    with pytest.raises(EncodeError, match="column 'r' holds text, not dicts"):
        encode_column(as_text, input_type="dict").compute()


def test_the_command_line_reports_and_summarizes_as_on_one_machine(
    client: Any, tmp_path: Path
) -> None:
    """The report line, --rejects and --summary of `--engine dask` match a local run's."""
    source = noisy_input(tmp_path)
    runner = CliRunner()
    address = client.scheduler.address
    results, summaries = [], []
    for name, engine in (("local", []), ("dask", ["--engine", "dask", "--scheduler", address,
                                                  "--partition-size", "1KB"])):  # fmt: skip
        out = f"{tmp_path}/{name}/"
        args = ["encode", str(source), "-o", out, "--append", "--id-field", "id",
                "--skip-invalid", "--rejects", str(tmp_path / f"{name}.bad"),
                "--summary", str(tmp_path / f"{name}.json"), *engine]  # fmt: skip
        results.append(runner.invoke(cli, args))
        summaries.append(orjson.loads((tmp_path / f"{name}.json").read_bytes()))
        again = runner.invoke(cli, [*args, "--skip-existing"])
        assert again.exit_code == 0, again.output
        assert "jsonvec: no new records in " in again.stderr
        assert f"left out 371 records already in {out}\n" in again.stderr
    for result in results:
        assert result.exit_code == 0, result.output
    tail = [r.stderr.split(" records/s) -> ")[1] for r in results]
    local = tail[0].replace(f"{tmp_path}/local/part-000000.parquet", f"{tmp_path}/dask")
    assert tail[1] == local.replace("local.bad", "dask.bad")
    assert "skipped 19 invalid lines (copied to " in tail[1]
    for summary in summaries:
        del summary["seconds"], summary["output"], summary["rejects"]
    assert summaries[0] == summaries[1]
    assert (tmp_path / "local.bad").read_bytes() == (tmp_path / "dask.bad").read_bytes()


def test_too_many_invalid_lines_on_the_command_line(client: Any, tmp_path: Path) -> None:
    source = noisy_input(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "encode", str(source), "-o", f"{out}/", "--engine", "dask", "--max-invalid", "2",
        "--scheduler", client.scheduler.address, "--partition-size", "1KB",
        "--summary", str(tmp_path / "run.json"),
    ])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {source}:80: more than 2 invalid lines (--max-invalid); this one: "
        "invalid JSON: unexpected character, expected a string key (column 2)\n"
    )
    assert orjson.loads((tmp_path / "run.json").read_bytes())["status"] == 1
    assert list(out.iterdir()) == []


# -- a folder on an object store (a file system that cannot rename) ---------------------------


@pytest.fixture
def store(client: Any) -> str:
    """The URL scheme of an object store that every worker reaches."""
    object_store.register()
    client.run(object_store.register)
    return f"{object_store.PROTOCOL}://"


def test_a_run_into_an_object_store_folder(client: Any, store: str, tmp_path: Path) -> None:
    """Parts are uploaded under their final names, the manifest put last; appends and
    --skip-existing work there too; nothing is renamed."""
    first, second = split_input(tmp_path, noisy_input(tmp_path), 230)
    out, one = tmp_path / "out", tmp_path / "one.parquet"
    options: dict[str, Any] = {"skip_invalid": True, "id_field": "id", "append": True}
    for source, more in ((first, {}), (second, {"skip_existing": True})):
        summary = encode_files([str(source)], f"{store}{out}/", partition_size=700,
                               client=client, **options, **more)  # fmt: skip
        expected, _ = one_machine(tmp_path, [source], one, **options, **more)
        assert (summary.records, summary.existing, summary.output) == (
            expected.records, expected.existing, f"{store}{out}",
        )  # fmt: skip
    assert rows_of(out) == rows_of(one)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("part-")) == [
        "_jsonvec_manifest.json"
    ]


def test_a_failed_run_into_an_object_store_lists_nothing_and_cleans_up(
    client: Any, store: str, tmp_path: Path
) -> None:
    source = noisy_input(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(InvalidLineError):
        encode_files([str(source)], f"{store}{out}/", partition_size=700, client=client)
    assert [p.name for p in out.iterdir()] == ["_jsonvec_manifest.json"]
    assert manifest_of(out)["parts"] == []
    with pytest.raises(VectorsError, match="holds no vectors files"):
        Collection.open([str(out)])


@given(
    st.lists(
        st.sampled_from([b"\n", b" ", b"\t", b"\r", b"{}", b"1", b"\xef\xbb\xbf", b"\r\n"]),
        max_size=16,
    ),
    st.booleans(),
)
def test_the_first_pass_counts_lines_as_the_reader_does(pieces: list[bytes], first: bool) -> None:
    block = b"".join(pieces)
    info = Range(0, "in.jsonl", first)
    lines = lines_of(block)
    numbers = range(1, len(lines) + 1) if first else [2] * len(lines)
    blank = sum(Line("in.jsonl", n, raw).is_blank for n, raw in zip(numbers, lines, strict=True))
    assert count_lines(block, info) == (len(lines), len(lines) - blank)


def test_dask_progress_bar_is_drawn_on_stderr(
    client: Any, samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    encode_files([str(samples / "people.jsonl")], str(tmp_path / "out"), client=client,
                 progress=True)  # fmt: skip
    drawn = capsys.readouterr()
    assert drawn.out == ""
    assert "100% Completed" in drawn.err


def test_two_local_clusters_at_once_say_nothing() -> None:
    """Two runs at once (two cron jobs): the second's scheduler must not warn on stderr that
    port 8787 is taken (pytest turns warnings into errors)."""
    with connect(workers=1) as first, connect(workers=1) as second:
        ports = [c.scheduler_info()["services"].get("dashboard") for c in (first, second)]
    assert ports[0] != ports[1]
    assert 8787 not in ports
