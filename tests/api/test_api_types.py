"""Every public function refuses what it cannot mean with a JsonvecError, never another error.

A sweep: each public callable is called once as it is meant to be (the call must work), then
once for each of its parameters with each value of WRONG in its place. Each call must work or
raise a :class:`jsonvec.JsonvecError`; a TypeError, AttributeError or ValueError escaping is a
bug (``jsonvec.JsonvecError`` is what the API promises). A public callable missing from the
table fails the sweep too, so a new one is swept from the start.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

import jsonvec
from jsonvec import Codebook, JsonvecError, Settings
from jsonvec.sklearn import JsonVectorizer

BOOK = Codebook(dim=64, seed=1)


class Odd:
    """An object of no JSON meaning."""


#: values that are the wrong type (or value) for most parameters
WRONG: list[Any] = [
    None,
    -1,
    1.5,
    math.nan,
    "",
    "x",
    b"x",
    Odd(),
    {"a": 1},
    [1],
    {1},
    True,
    Path("/nonexistent/jsonvec"),
    np.float32(2.5),
]


@dataclass
class Call:
    """A public callable, and keyword arguments that make a good call of it."""

    name: str
    function: Callable[..., Any]
    good: dict[str, Any]
    #: parameters left out of the sweep, with the reason
    skip: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sweep")
    records = folder / "r.jsonl"
    records.write_bytes(
        b"".join(orjson.dumps({"id": f"r{i}", "x": i, "t": "ab"}) + b"\n" for i in range(5))
    )
    vectors = folder / "v.parquet"
    jsonvec.encode_file(records, vectors, codebook=BOOK, id_field="id", keep_records=True)
    book = folder / "b.jvc"
    jsonvec.save_codebook(BOOK, book)
    return {"folder": folder, "records": records, "vectors": vectors, "codebook": book}


def calls(files: dict[str, Path]) -> list[Call]:
    folder = files["folder"]
    loaded = jsonvec.load(files["vectors"])
    encoder = jsonvec.Encoder(BOOK)
    collection = loaded.collection
    vector = loaded.vectors[:1]
    return [
        Call("Codebook", Codebook, {"dim": 64, "seed": 1, "settings": Settings()}),
        Call("Codebook.role", BOOK.role, {"kind": "key", "name": "a"}),
        Call("default_codebook", jsonvec.default_codebook, {}),
        Call("load_codebook", jsonvec.load_codebook, {"path": files["codebook"]}),
        Call(
            "save_codebook", jsonvec.save_codebook, {"codebook": BOOK, "path": folder / "saved.jvc"}
        ),
        Call("Settings", Settings, {"string_exact_weight": 1.0, "set_arrays": ("t",)}),
        Call("Settings.replace", Settings().replace, {"number_exact_weight": 1.0}),
        Call("Settings.from_dict", Settings.from_dict, {"data": {"number_exact_weight": 1.0}}),
        Call("Encoder", jsonvec.Encoder, {"codebook": BOOK}),
        Call("Encoder.encode", encoder.encode, {"value": {"a": 1}}),
        Call("Encoder.encode_batch", encoder.encode_batch, {"values": [{"a": 1}]}),
        Call("encode", jsonvec.encode, {"value": {"a": 1}, "codebook": BOOK}),
        Call("encode_batch", jsonvec.encode_batch, {"values": [{"a": 1}], "codebook": BOOK}),
        Call(
            "iter_encode",
            lambda **kw: list(jsonvec.iter_encode(**kw)),
            {"values": [{"a": 1}], "codebook": BOOK, "batch_size": 2},
        ),
        Call(
            "encode_file",
            jsonvec.encode_file,
            {
                "inputs": files["records"],
                "output": folder / "out.npy",
                "codebook": BOOK,
                "id_field": "id",
                "batch_size": 2,
                "jobs": 1,
            },
            skip={"output": "a wrong output path names a place that may be written"},
        ),
        Call("load", jsonvec.load, {"paths": files["vectors"]}),
        Call("Collection.open", jsonvec.Collection.open, {"patterns": [str(files["vectors"])]}),
        Call("Collection.find", collection.find, {"wanted": "r1"}),
        Call("Collection.vector", collection.vector, {"row": 1}),
        Call("Collection.ids", collection.ids, {"rows": [0, 1]}),
        Call(
            "Vectors.search",
            loaded.search,
            {"records": [{"x": 1}], "k": 2, "where": {"x": 1}, "by_field": False},
        ),
        Call("Vectors.search_vectors", loaded.search_vectors, {"queries": vector, "k": 2}),
        Call("Vectors.to_arrow", loaded.to_arrow, {}),
        Call("Vectors.info", loaded.info, {"check": False}),
        Call("Vectors.to_pandas", loaded.to_pandas, {}),
        Call(
            "CollectionSearch.search",
            jsonvec.CollectionSearch(collection).search,
            {"queries": vector, "k": 2},
        ),
        Call("unbind", jsonvec.unbind, {"vectors": vector, "path": "x", "codebook": BOOK}),
        Call(
            "JsonVectorizer.fit_transform",
            lambda **kw: JsonVectorizer(dim=64, **kw).fit_transform([{"a": 1}]),
            {"seed": 1, "input_type": "dict"},
        ),
        Call("JsonVectorizer.transform", JsonVectorizer(dim=64).transform, {"X": [{"a": 1}]}),
    ]


def public_callables() -> set[str]:
    """The names the sweep must cover: every callable of ``jsonvec.__all__`` but errors and
    plain records of data, and the public methods of the classes that do work."""
    data = {
        "EncodeSummary",
        "Hit",
        "HitLists",
        "__version__",
        "CollectionSearch",
        "Collection",
        "Vectors",
    }
    names = {
        name
        for name in jsonvec.__all__
        if name not in data and not name.endswith("Error") and callable(getattr(jsonvec, name))
    }
    return names | {
        "Codebook.role", "Settings.replace", "Settings.from_dict", "Encoder.encode",
        "Encoder.encode_batch", "Collection.open", "Collection.find", "Collection.vector",
        "Collection.ids", "Vectors.search", "Vectors.search_vectors", "Vectors.to_arrow",
        "Vectors.to_pandas", "CollectionSearch.search", "JsonVectorizer.fit_transform",
        "JsonVectorizer.transform",
    }  # fmt: skip


def test_the_sweep_covers_every_public_callable(files: dict[str, Path]) -> None:
    assert public_callables() <= {call.name for call in calls(files)}


def wrong_calls(call: Call) -> Iterator[tuple[str, Any]]:
    for name in call.good:
        if name in call.skip:
            continue
        for value in WRONG:
            yield name, value


def test_every_public_callable_refuses_wrong_arguments_with_a_jsonvec_error(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative "x" written by mistake lands here
    escaped: list[str] = []
    for call in calls(files):
        call.function(**call.good)  # the good call works
        for name, value in wrong_calls(call):
            try:
                call.function(**{**call.good, name: value})
            except JsonvecError:
                pass
            except Exception as exc:
                escaped.append(f"{call.name}({name}={value!r}): {type(exc).__name__}: {exc}")
    assert escaped == [], "\n".join(escaped)


def test_a_batch_that_is_one_record_is_refused_saying_how_to_pass_one() -> None:
    for batch in ("abc", b"abc", {"a": 1, "b": 2}):
        with pytest.raises(jsonvec.EncodeError, match=r"encode_batch\(\[record\]\)"):
            jsonvec.encode_batch(batch)
        with pytest.raises(jsonvec.EncodeError, match=r"one record"):
            list(jsonvec.iter_encode(batch))


def test_a_search_for_a_string_is_refused_saying_how_to_pass_one(files: dict[str, Path]) -> None:
    vectors = jsonvec.load(files["vectors"])
    with pytest.raises(jsonvec.SearchError, match=r'search\(\["Germany"\]\)'):
        vectors.search("Germany")
    with pytest.raises(jsonvec.SearchError, match="not int"):
        vectors.search(42)
    assert len(vectors.search(["ab"])) == 1  # a list of one string: one query
    assert len(vectors.search({"t": "ab"})) == 1  # a dict alone is one query, as documented


def test_signatures_are_what_the_sweep_calls(files: dict[str, Path]) -> None:
    """The good calls name real parameters (a renamed one would leave the sweep blind)."""
    for call in calls(files):
        try:
            signature = inspect.signature(call.function)
        except ValueError:  # a builtin without a signature
            continue
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        assert accepts_any or set(call.good) <= set(signature.parameters), call.name
