"""What a Python user keeps or ships survives pickle, deepcopy and joblib: codebooks, vectors
opened with load, scikit-learn vectorizers (fitted or not), and every error."""

from __future__ import annotations

import copy
import inspect
import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import orjson
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline

import jsonvec
import jsonvec.errors
from jsonvec import Codebook, Settings
from jsonvec.search.ann import build_index
from jsonvec.sklearn import JsonVectorizer


def _joblib(value: Any) -> Any:
    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


ROUND_TRIPS: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda value: pickle.loads(pickle.dumps(value)),
    "deepcopy": copy.deepcopy,
    "joblib": _joblib,
}
BOOK = Codebook(dim=128, seed=5, settings=Settings(set_arrays=("tags",)))
RECORDS = [
    {"kind": kind, "name": f"{kind} {i}", "size": i % 5, "tags": [kind[:2], "x"]}
    for i in range(30)
    for kind in ("fruit", "tool", "cloth")
]
LABELS = [r["kind"] for r in RECORDS]


@pytest.mark.parametrize("trip", ROUND_TRIPS)
def test_a_codebook_that_has_made_roles(trip: str) -> None:
    BOOK.role("key", "name")  # the role cache (and its lock) is filled
    again = ROUND_TRIPS[trip](BOOK)
    assert again == BOOK
    assert again.fingerprint == BOOK.fingerprint
    assert (jsonvec.encode(RECORDS[0], again) == jsonvec.encode(RECORDS[0], BOOK)).all()


@pytest.mark.parametrize("trip", ROUND_TRIPS)
@pytest.mark.parametrize("learn", [False, True])
@pytest.mark.parametrize("fitted", [False, True])
def test_a_vectorizer(trip: str, learn: bool, fitted: bool) -> None:
    vectorizer = JsonVectorizer(codebook=BOOK, learn_weights=learn)
    if fitted:
        vectorizer.fit(RECORDS)
    again = ROUND_TRIPS[trip](vectorizer)
    assert again.get_params() == vectorizer.get_params()
    if fitted:
        assert again.codebook_ == vectorizer.codebook_
        assert (again.transform(RECORDS) == vectorizer.transform(RECORDS)).all()


def test_cross_validate_in_two_processes_returns_the_estimators() -> None:
    model = make_pipeline(JsonVectorizer(dim=128, learn_weights=True), LogisticRegression())
    result = cross_validate(model, RECORDS, LABELS, cv=3, n_jobs=2, return_estimator=True)
    assert len(result["estimator"]) == 3
    fitted = result["estimator"][0]
    assert fitted.predict(RECORDS[:3]).tolist() == LABELS[:3]
    assert fitted[0].codebook_.settings.field_weights  # weights learnt in the worker


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stored")
    source = folder / "r.jsonl"
    source.write_bytes(
        b"".join(orjson.dumps({"id": f"r{i}", **r}) + b"\n" for i, r in enumerate(RECORDS))
    )
    parquet = folder / "v.parquet"
    jsonvec.encode_file(source, parquet, codebook=BOOK, id_field="id", keep_records=True)
    index = folder / "v.usearch"
    build_index(jsonvec.load(parquet).collection, index)
    return {"parquet": parquet, "index": index}


@pytest.mark.parametrize("trip", ROUND_TRIPS)
@pytest.mark.parametrize("indexed", [False, True])
def test_loaded_vectors(stored: dict[str, Path], trip: str, indexed: bool) -> None:
    vectors = jsonvec.load(stored["parquet"], index=stored["index"] if indexed else None)
    again = ROUND_TRIPS[trip](vectors)
    assert again.ids == vectors.ids
    assert again.codebook == vectors.codebook
    assert np.array_equal(again.vectors, vectors.vectors)
    assert again.search(RECORDS[:2], k=3) == vectors.search(RECORDS[:2], k=3)
    assert repr(again) == repr(vectors)


def errors() -> list[Exception]:
    """One of every error class, made with the arguments it takes."""
    made: list[Exception] = []
    for _, cls in inspect.getmembers(jsonvec.errors, inspect.isclass):
        if not issubclass(cls, jsonvec.JsonvecError):
            continue
        parameters = inspect.signature(cls.__init__).parameters
        if "lineno" in parameters:
            made.append(cls("in.jsonl", 3, "invalid JSON", b"{oops\n"))
        elif "problem" in parameters:
            made.append(cls("book.jvc", "damaged"))
        elif "lines" in parameters:
            made.append(cls("stdout", 12))
        else:
            made.append(cls("a message"))
    return made


@pytest.mark.parametrize("error", errors(), ids=lambda e: type(e).__name__)
def test_every_error(error: Exception) -> None:
    for trip in ROUND_TRIPS.values():
        again = trip(error)
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert vars(again) == vars(error)
