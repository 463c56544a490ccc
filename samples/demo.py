"""Print the nearest records to a few queries, from vectors written by `jsonvec encode`.

Used by `make demo`:  python samples/demo.py VECTORS.parquet RECORDS.jsonl
"""

from __future__ import annotations

import sys

import numpy as np
import orjson
import pyarrow.parquet as pq

from jsonvec import encode


def main(vectors_path: str, records_path: str) -> None:
    table = pq.read_table(vectors_path)
    ids = table.column("id").to_pylist()
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    with open(records_path, "rb") as handle:
        names = {r["id"]: r["name"] for r in map(orjson.loads, handle)}
    queries = {
        "record p01": vectors[ids.index("p01")],
        '{"name": "Maria Garcia"}': encode({"name": "Maria Garcia"}),
        '{"city": "Paris", "age": 34}': encode({"city": "Paris", "age": 34}),
    }
    for label, query in queries.items():
        scores = vectors @ query
        print(f"\nnearest to {label}:")
        for rank, row in enumerate(np.argsort(-scores)[:3], start=1):
            print(f"  {rank}. {ids[row]:<4} {names[ids[row]]:<16} score {scores[row]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
