"""The compiled core against the reference: the same bits on every input and codebook."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvec import Codebook, Encoder, Settings
from jsonvec.encoding.encoder import COMPILED, implementation
from tests.encoding.test_encoder import GOLDEN, digest, json_values, scalars

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SUITE = DATA / "JSONTestSuite" / "test_parsing"

pytestmark = pytest.mark.skipif(not COMPILED, reason="the compiled core is not built")

BOOKS = {
    "default": Codebook(),
    "tiny": Codebook(dim=64, seed=5, settings=Settings(atom_nonzeros=1, array_set_weight=0.0)),
    "weights": Codebook(
        dim=512,
        seed=9,
        settings=Settings(
            field_weights={"name": 2.0, "user.name": 0.5, "items[].sku": 3.0, "a": 0.3},
            ignore_fields=("id", "meta.ts", "created_at"),
            set_arrays=("tags", "items[].labels", "coordinates"),
        ),
    ),
    "bag": Codebook(
        dim=256,
        seed=1,
        settings=Settings(leaf_bag_weight=0.7, piece_nonzeros=2, ngram=2, ngram_max_chars=10),
    ),
    "odd": Codebook(
        dim=1000,
        seed=2**63 + 5,
        settings=Settings(
            atom_nonzeros=5,
            number_level_widths=(0.25, 3.0),
            number_level_weights=(1.0, 0.2),
            string_word_weight=0.0,
            array_set_weight=1.5,
        ),
    ),
}


def same(records: list[Any], book: Codebook) -> None:
    compiled = Encoder(book, compiled=True).encode_batch(records)
    reference = Encoder(book, compiled=False).encode_batch(records)
    differ = [i for i in range(len(records)) if compiled[i].tobytes() != reference[i].tobytes()]
    assert differ == [], f"records {differ[:5]} differ, e.g. {records[differ[0]]!r:.200}"


def test_the_core_is_built_when_required() -> None:
    """`make test` builds the core (JSONVEC_REQUIRE_CORE): the tests must run it."""
    if os.environ.get("JSONVEC_REQUIRE_CORE"):
        assert COMPILED
    assert implementation() == "compiled encoder"


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not available")
@pytest.mark.parametrize("corpus", sorted(p.stem for p in DATA.glob("*.jsonl")))
def test_every_corpus(corpus: str) -> None:
    lines = [line for line in (DATA / f"{corpus}.jsonl").read_bytes().splitlines() if line.strip()]
    random.Random(corpus).shuffle(lines)
    records = [orjson.loads(line) for line in lines[:300]]
    for book in (BOOKS["default"], BOOKS["weights"], BOOKS["odd"]):
        same(records, book)


@pytest.mark.skipif(not SUITE.is_dir(), reason="the full JSONTestSuite is not available")
def test_every_accepted_json_test_suite_case() -> None:
    records = []
    for path in sorted(SUITE.glob("y_*.json")):
        try:
            records.append(orjson.loads(path.read_bytes()))
        except orjson.JSONDecodeError:
            continue  # a value orjson refuses is not a record
    assert len(records) > 90
    for book in BOOKS.values():
        same(records, book)


@pytest.mark.parametrize("compiled", [True, False])
def test_golden_vectors_both_ways(compiled: bool) -> None:
    encoder = Encoder(compiled=compiled)
    assert [digest(encoder.encode(r)) for r, _ in GOLDEN] == [d for _, d in GOLDEN]


@given(st.lists(json_values, min_size=1, max_size=8), st.sampled_from(sorted(BOOKS)))
def test_generated_records(records: list[Any], book: str) -> None:
    same(records, BOOKS[book])


# Records that reach what small ones do not: nesting many levels deep, arrays past the 32
# positions that get composed tables, objects of many new keys; with a path tree of a few
# nodes, so the tree starts over between records, new nodes are transient, and the
# reference flushes its buffer in the middle of a record (past 64 transient nodes).
wide_keys = st.text(alphabet="abcdefghij.[]\\", min_size=1, max_size=3)
deep_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=40) | st.dictionaries(wide_keys, children, max_size=90)
    ),
    max_leaves=300,
)


@given(
    st.lists(deep_values, min_size=1, max_size=4),
    st.sampled_from(sorted(BOOKS)),
    st.integers(1, 12),
)
@settings(max_examples=40, deadline=None)
def test_generated_deep_and_wide_records_with_a_small_tree(
    records: list[Any], book: str, capacity: int
) -> None:
    compiled = Encoder(BOOKS[book], compiled=True)
    reference = Encoder(BOOKS[book], compiled=False)
    for encoder in (compiled, reference):
        encoder._impl.tree.capacity = capacity
    got, want = compiled.encode_batch(records), reference.encode_batch(records)
    differ = [i for i in range(len(records)) if got[i].tobytes() != want[i].tobytes()]
    assert differ == []


def test_the_fixed_parity_set() -> None:
    """tests/parity.py (run on every installed Python by `make test`), here in-process."""
    from tests.parity import BOOKS as PARITY_BOOKS  # noqa: PLC0415
    from tests.parity import records  # noqa: PLC0415

    values = records()
    for book in PARITY_BOOKS.values():
        same(values, book)


def test_edges() -> None:
    """Integers at and past 2**53 and 2**64, lone surrogates, long and empty strings, deep
    and long arrays, subclasses of the JSON types, objects whose fields are all ignored."""

    class Tag(str):
        pass

    edges: list[Any] = [
        2**53,
        2**53 + 1,
        -(2**53) - 1,
        2**60,
        2**63 - 1,
        -(2**63),
        2**64 + 7,
        -(2**70),
        1e-310,
        -0.0,
        "",
        "\ud800 lone",
        "x" * 5000,
        "  many   spaces\u2003and\u3000ideographic ",
        Tag("tagged"),
        {"id": 1, "created_at": 2},
        {"a": [[1, [2, [3]]], {"b": [4.5, None]}]},
        [[[[["deep"]]]]],
        {"xs": list(range(2000))},
        {"coordinates": [[i * 0.5, -i] for i in range(300)]},
    ]
    for book in BOOKS.values():
        same(edges, book)


@pytest.mark.parametrize("budget", [0, 1, 3])
def test_short_arrays_without_composed_roles(budget: int) -> None:
    """The roles of an array's first positions as one table each, while the budget lasts, and
    along Q_seq's cycles after it: the same bits either way."""
    records: list[Any] = [
        ["a", 1, "bc", [2, "d"]],
        {"xs": [f"v{i}" for i in range(40)], "ys": [[i, -i] for i in range(5)]},
        {"xs": ["z", 2.5], "k": [None, True, {"in": [1, 2]}]},
    ]
    for book in BOOKS.values():
        encoder = Encoder(book, compiled=True)
        encoder._impl.composed_left = budget
        compiled = encoder.encode_batch(records * 2)
        reference = Encoder(book, compiled=False).encode_batch(records * 2)
        assert compiled.tobytes() == reference.tobytes()


def test_composed_tables_come_back_when_the_tree_starts_over() -> None:
    """Dropped path nodes give their composed tables back: after 100,000 records of ever-new
    keys (the tree starts over many times), a path still gets its table."""
    book = Codebook(dim=64)
    encoder = Encoder(book, compiled=True)
    core = encoder._impl
    full = core.composed_left
    for start in range(0, 100_000, 1000):
        encoder.encode_batch([{f"k{start + i}": [1, 2]} for i in range(1000)])
    assert core.composed_left > full // 2  # without the refund: 0 after ~2,000 records
    before = core.composed_left
    records = [{"fresh": ["a", "b", 3]}]
    vectors = encoder.encode_batch(records)
    assert core.composed_left == before - 3  # the new path took a table per position
    assert vectors.tobytes() == Encoder(book, compiled=False).encode_batch(records).tobytes()
