"""jsonvec on Dask (the 'dask' extra): a real LocalCluster of worker processes, loopback only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from jsonvec import Codebook, Encoder, Settings

distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
db = pytest.importorskip("dask.bag", reason="the 'dask' extra is not installed")

from jsonvec.dask import encode_bag  # noqa: E402


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
