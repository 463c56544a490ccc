"""Property-based fuzzing: arbitrary JSON values and arbitrary bytes never crash jsonvec.

The encoder raises nothing but :class:`JsonvecError` on any Python JSON value (huge integers,
subnormals, deep nesting, odd strings), its vectors are finite and unit length, and key order
never matters. A line of arbitrary bytes is either encoded or reported as an invalid line.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvec import Codebook, Encoder, JsonvecError
from jsonvec.records.batches import BatchBuilder
from jsonvec.run.batches import BatchEncoder

BOOK = Codebook(dim=64)
ENCODER = Encoder(BOOK)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**200), 2**200)
    | st.floats()  # NaN and infinities included: they must be refused cleanly
    | st.text()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(), children, max_size=6)
    ),
    max_leaves=40,
)


def finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite(v) for v in value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return True


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


@settings(max_examples=300)
@given(st.lists(values, min_size=1, max_size=4))
def test_encoder_never_crashes(batch: list[Any]) -> None:
    try:
        vectors = ENCODER.encode_batch(batch)
    except JsonvecError:
        assert not all(finite(v) for v in batch)
        return
    assert vectors.shape == (len(batch), 64)
    assert np.isfinite(vectors).all()
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-6)
    assert np.array_equal(ENCODER.encode_batch([reversed_keys(v) for v in batch]), vectors)


@settings(max_examples=300)
@given(
    st.lists(
        st.binary(max_size=40) | values.map(lambda v: json.dumps(v).encode()),
        min_size=1,
        max_size=6,
    )
)
def test_any_bytes_are_encoded_or_reported(raws: list[bytes]) -> None:
    builder = BatchBuilder()
    for i, raw in enumerate(raws):
        builder.add("fuzz", i + 1, raw.replace(b"\n", b" ") + b"\n")
    encoded = BatchEncoder(ENCODER)(builder.build())
    assert len(encoded.ids) + len(encoded.invalid) == len(raws)
    assert sorted([*encoded.ids, *(lineno - 1 for _, lineno, _, _ in encoded.invalid)]) == list(
        range(len(raws))
    )
    assert all(source == "fuzz" and reason for source, _, reason, _ in encoded.invalid)
    assert np.isfinite(encoded.vectors).all()
