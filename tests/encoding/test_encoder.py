from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jsonvec import Codebook, EncodeError, Encoder, Settings, encode, encode_batch
from jsonvec.encoding.encoder import COMPILED
from tests.helpers import run

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
objects = st.dictionaries(st.text(max_size=6), json_values, min_size=2, max_size=5)


def cos(a: Any, b: Any, book: Codebook) -> float:
    return float(encode(a, book) @ encode(b, book))


def shuffled(value: Any, rnd: Any) -> Any:
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


@given(json_values, st.randoms())
def test_key_order_gives_the_identical_vector(value: Any, rnd: Any) -> None:
    book = Codebook(dim=128)
    assert np.array_equal(encode(value, book), encode(shuffled(value, rnd), book))


@given(json_values)
def test_vectors_are_unit_float32(value: Any) -> None:
    v = encode(value, Codebook(dim=128))
    assert v.dtype == np.float32
    assert v.shape == (128,)
    assert abs(float(np.linalg.norm(v.astype(np.float64))) - 1.0) < 1e-6


@given(json_values, json_values)
def test_swapped_nesting_differs(x: Any, y: Any) -> None:
    book = Codebook(dim=512, seed=1)
    assert cos({"a": {"b": x}}, {"b": {"a": x}}, book) < 0.5
    if x != y:
        assert cos([x, y], [y, x], book) < 0.999


@given(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8))
def test_swapped_key_and_value_differ(a: str, b: str) -> None:
    assume(a != b)
    assert cos({a: b}, {b: a}, Codebook(dim=512, seed=2)) < 0.5


def test_reversed_array_differs(small: Codebook) -> None:
    assert cos(["a", "b", "c", "d"], ["d", "c", "b", "a"], small) < 0.35


def test_order_free_copy_keeps_shifted_arrays_close() -> None:
    shifted = (["x", "a", "b", "c"], ["a", "b", "c"])
    ordered_only = Codebook(dim=1024, settings=Settings(array_set_weight=0.0))
    assert cos(*shifted, Codebook()) > cos(*shifted, ordered_only) + 0.1
    assert cos(["x", "a", "b", "c"], ["c", "b", "a", "x"], Codebook()) < 0.4


def test_similarity_tracks_shared_content() -> None:
    base = {"name": "Jonathan", "age": 31, "city": "Paris", "job": "baker"}
    fuzzier = {"name": "Johnathan", "age": 32, "city": "Paris", "job": "baker"}
    one_field = {"name": "Maria", "age": 60, "city": "Paris", "job": "pilot"}
    nothing = {"name": "Maria", "age": 60, "city": "Lima", "job": "pilot"}
    book = Codebook()
    assert cos(base, fuzzier, book) > cos(base, one_field, book) > cos(base, nothing, book)
    assert cos(base, nothing, book) < 0.15


def test_partial_record_scores_its_superset_highest() -> None:
    book = Codebook()
    records = [{"city": c, "name": n} for c in ("Paris", "Rome", "Oslo") for n in ("Ann", "Bo")]
    vectors = encode_batch(records, book)
    scores = vectors @ encode({"city": "Rome"}, book)
    top = sorted(np.argsort(-scores)[:2].tolist())
    assert [records[i]["city"] for i in top] == ["Rome", "Rome"]


def test_set_arrays_ignore_order() -> None:
    book = Codebook(dim=256, settings=Settings(set_arrays=("tags", "items[].labels")))
    assert np.array_equal(encode({"tags": [1, "x", 2]}, book), encode({"tags": [2, 1, "x"]}, book))
    nested = ({"items": [{"labels": ["a", "b"]}]}, {"items": [{"labels": ["b", "a"]}]})
    assert np.array_equal(encode(nested[0], book), encode(nested[1], book))
    assert not np.array_equal(encode({"other": [1, 2]}, book), encode({"other": [2, 1]}, book))
    assert not np.array_equal(encode({"tags": ["x"]}, book), encode({"tags": "x"}, book))


def test_leaf_bag_weight_adds_unbound_terms() -> None:
    plain = Codebook(dim=512)
    bagged = Codebook(dim=512, settings=Settings(leaf_bag_weight=1.0))
    a, b = {"from": "Paris"}, {"to": "Paris"}
    assert cos(a, b, bagged) > cos(a, b, plain) + 0.2


def test_batch_equals_single() -> None:
    records = [{"a": i, "b": [str(i), i / 3]} for i in range(5)]
    book = Codebook(dim=128)
    batch = encode_batch(records, book)
    assert batch.shape == (5, 128)
    for row, record in zip(batch, records, strict=True):
        assert np.array_equal(row, encode(record, book))
    assert encode_batch([], book).shape == (0, 128)


@pytest.mark.parametrize("compiled", [True, False])
def test_thread_safety(compiled: bool) -> None:
    """8 threads sharing one encoder get the single-thread vectors, while the path tree
    fills, starts over and makes transient nodes under them."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    if compiled and not COMPILED:
        pytest.skip("the compiled core is not built")
    rng = random.Random(3)
    batches = [
        [
            {"k": rng.random(), f"f{rng.randint(0, 400)}": [rng.random(), "w" * rng.randint(0, 9)]}
            for _ in range(rng.randint(1, 30))
        ]
        for _ in range(64)
    ]
    book = Codebook(dim=256)
    expected = [Encoder(book, compiled=compiled).encode_batch(batch) for batch in batches]
    shared = Encoder(book, compiled=compiled)
    shared._impl.tree.capacity = 64
    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            got = list(pool.map(shared.encode_batch, batches))
            assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def test_caches_do_not_change_results() -> None:
    records = [{"k": i % 3, "arr": list(range(i % 4))} for i in range(20)]
    book = Codebook(dim=64)
    warm = Encoder(book)
    first = [warm.encode(r) for r in records]
    again = [Encoder(book).encode(r) for r in records]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_deep_nesting_is_not_a_recursion_error() -> None:
    value: Any = "leaf"
    for _ in range(1500):
        value = [value]
    assert encode(value, Codebook(dim=64)).shape == (64,)


# Pinned for encoding 3 (jsonvec 0.4: numbers of ten entries, the position trace of strings,
# integer symbols by their bits; docs/method.md, "Representation changes"); a change here
# changes every vector jsonvec writes. Objects inside arrays, nested arrays and an integer past
# 64 bits take the paths a planted off-by-one in the core would change.
GOLDEN = [
    (
        {
            "name": "Jonathan",
            "age": 31,
            "tags": ["a", "b"],
            "address": {"city": "Paris", "zip": "75001"},
        },
        "d7649ac937c99ec8f739e51a9de6b169",
    ),
    ([1, 2.5, "x", True, None, {}, []], "6651c2768c9c5769dabe4e411f23a636"),
    ("plain string", "ef1a76b7e956af1203de4b9593daa714"),
    (12345678901234567890, "3d51b04bcb9e7f5e777dacd1f8050ef1"),
    (-0.001, "9a8930c968ccbf0c6c03c7848f8b6987"),
    (
        {
            "items": [{"sku": "A-100", "qty": 2}, {"sku": "B-7", "qty": [1, {"x": None}]}],
            "when": "2021/03/15",
        },
        "a42df986b60fcff6523790d1768def5e",
    ),
    (-(2**63) - 12345, "b9740ff41595b1cbe545ce5d494d9d44"),
]


def digest(vector: np.ndarray) -> str:
    return hashlib.sha256(vector.astype("<f4").tobytes()).hexdigest()[:32]


@pytest.mark.parametrize(("record", "expected"), GOLDEN)
def test_golden_vectors(record: Any, expected: str) -> None:
    """The default codebook's vectors, pinned bit for bit (see docs/method.md)."""
    assert digest(encode(record)) == expected


def test_same_vectors_in_another_process() -> None:
    script = (
        "import hashlib, json, sys\n"
        "from jsonvec import encode\n"
        "for r in json.loads(sys.stdin.read()):\n"
        "    print(hashlib.sha256(encode(r).astype('<f4').tobytes()).hexdigest()[:32])\n"
    )
    records = [record for record, _ in GOLDEN] + [{"k": {"z": 1, "a": [2, {"b": "c"}]}}]
    for hashseed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        done = run([sys.executable, "-c", script], input=json.dumps(records).encode(), env=env)
        assert done.returncode == 0, done.stderr
        out = done.stdout.decode().split()
        assert out == [digest(encode(r)) for r in records]


def test_ignored_fields_leave_no_trace() -> None:
    book = Codebook(dim=256, settings=Settings(ignore_fields=("id", "meta.ts")))
    a = {"id": 1, "name": "x", "meta": {"ts": 5, "src": "a"}}
    b = {"id": 2, "name": "x", "meta": {"ts": 9, "src": "a"}}
    assert np.array_equal(encode(a, book), encode(b, book))
    assert np.array_equal(encode(a, book), encode({"name": "x", "meta": {"src": "a"}}, book))
    assert np.array_equal(encode({"id": 1}, book), encode({}, book))


def test_field_weights_shift_similarity() -> None:
    a, b = {"name": "Ann", "city": "Oslo"}, {"name": "Ann", "city": "Rome"}
    heavy_name = Codebook(dim=512, settings=Settings(field_weights={"name": 3.0}))
    assert cos(a, b, heavy_name) > cos(a, b, Codebook(dim=512)) + 0.2
    assert cos(a, b, heavy_name) == pytest.approx(0.9, abs=0.05)  # 9 / (9 + 1)


@given(st.lists(json_values, min_size=1, max_size=12), st.integers(1, 5))
def test_vectors_do_not_depend_on_batches_or_caches(values: list[Any], size: int) -> None:
    """Sums are exact, so batch boundaries, warm caches and a path cache that starts over
    after every record (capacity 1 node) give the same bits."""
    book = Codebook(dim=128)
    expected = Encoder(book).encode_batch(values)
    warm = Encoder(book)
    warm.encode_batch(values[::-1])
    tiny = Encoder(book)
    tiny._impl.tree.capacity = 1
    for encoder in (warm, tiny):
        parts = [encoder.encode_batch(values[i : i + size]) for i in range(0, len(values), size)]
        assert np.array_equal(np.concatenate(parts), expected)


def test_long_arrays_past_the_cached_elements() -> None:
    # order alone (no order-free copy, which 3,000 strings of one alphabet would dominate)
    book = Codebook(dim=256, settings=Settings(array_set_weight=0.0))
    words = [f"{i * 2654435761 % 2**32:08x}" for i in range(3000)]
    value = {"xs": words}
    first = Encoder(book).encode(value)
    warm = Encoder(book)
    warm.encode({"xs": [1, 2]})
    assert np.array_equal(warm.encode(value), first)
    assert np.array_equal(warm.encode(value), first)
    reversed_ = Encoder(book).encode({"xs": words[::-1]})
    assert float(first @ reversed_) < 0.7  # about the mean cosine of two of these strings


def test_non_finite_numbers_from_python_are_refused() -> None:
    encoder = Encoder(Codebook(dim=64))
    with pytest.raises(EncodeError, match="cannot encode the number nan"):
        encoder.encode_batch([{"a": 1}, {"a": float("nan")}])
    # the failed batch leaves nothing behind
    assert np.array_equal(encoder.encode({"a": 1}), Encoder(Codebook(dim=64)).encode({"a": 1}))


def test_unusual_python_types() -> None:
    book = Codebook(dim=64)

    class Tag(str):
        pass

    assert np.array_equal(encode({"a": Tag("x")}, book), encode({"a": "x"}, book))
    assert np.array_equal(encode([True, 1], book), encode([True, 1], book))
    assert not np.array_equal(encode([True], book), encode([1], book))
    with pytest.raises(EncodeError, match="cannot encode a value of type set"):
        encode({"a": {1}}, book)


@pytest.mark.parametrize("compiled", [True, False])
def test_an_object_whose_fields_are_all_ignored_reads_as_empty_everywhere(compiled: bool) -> None:
    """docs/method.md: such an object reads as {} (it was not so inside an ordered array:
    cosine 0.906 with [{}])."""
    if compiled and not COMPILED:
        pytest.skip("the compiled core is not built")
    ignored = ("id", "[].id", "a[].id", "[][].id")
    book = Codebook(dim=256, settings=Settings(ignore_fields=ignored))
    encoder = Encoder(book, compiled=compiled)
    pairs = [
        ([{"id": 1}], [{}]),
        ({"a": [{"id": 2}, 3]}, {"a": [{}, 3]}),
        ({"id": 1}, {}),
        ([[{"id": 1}]], [[{}]]),
    ]
    for ignored, empty in pairs:
        assert encoder.encode(ignored).tobytes() == encoder.encode(empty).tobytes()


@pytest.mark.parametrize("compiled", [True, False])
def test_integers_of_any_size_encode(compiled: bool) -> None:
    """Past 4,300 digits Python refuses to write an integer in decimal (by default): the exact
    atom of a large integer comes from its bits, so any size encodes, whatever that limit."""
    if compiled and not COMPILED:
        pytest.skip("the compiled core is not built")
    encoder = Encoder(Codebook(dim=256), compiled=compiled)
    huge = 10**5000
    limit = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(640)
        first = encoder.encode(huge)
    finally:
        sys.set_int_max_str_digits(limit)
    assert np.array_equal(first, encoder.encode(huge))
    assert not np.array_equal(first, encoder.encode(huge + 1))
    assert float(first @ encoder.encode(huge + 1)) > 0.5  # same magnitude, other exact atom
