"""jsonvec.sklearn.JsonVectorizer: a scikit-learn transformer of records."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import estimator_checks

from jsonvec import Codebook, EncodeError, encode_batch, save_codebook
from jsonvec.codebook.fit import fit_settings
from jsonvec.sklearn import JsonVectorizer

RECORDS = [
    {"kind": kind, "name": f"{kind} item {i}", "size": i % 7, "tags": [kind[:3], "x"]}
    for i in range(60)
    for kind in ("fruit", "tool", "garment")
]
LABELS = [r["kind"] for r in RECORDS]
TEXTS = [orjson.dumps(r).decode() for r in RECORDS]

#: sklearn's checks that apply to a transformer whose samples are records, not rows of
#: numbers; check_estimator itself runs only check_estimator_cloneable for dict input
API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_transformers_unfitted",
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_n_features_in_after_fitting",
]
#: these fit on a one-column array of numbers (a number is a record too)
FITTING_CHECKS = [
    "check_dont_overwrite_parameters",
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_readonly_memmap_input",
    "check_requires_y_none",
    "check_fit_check_is_fitted",
]


def test_check_estimator_runs_what_applies() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        results = estimator_checks.check_estimator(JsonVectorizer(dim=64), on_fail=None)
    assert [(r["check_name"], r["status"]) for r in results] == [
        ("check_estimator_cloneable", "passed")
    ]


@pytest.mark.parametrize("learn_weights", [False, True])
@pytest.mark.parametrize("check", API_CHECKS)
def test_sklearn_api_checks(check: str, learn_weights: bool) -> None:
    getattr(estimator_checks, check)("JsonVectorizer", JsonVectorizer(dim=64,
                                     learn_weights=learn_weights))  # fmt: skip


@pytest.mark.parametrize("check", FITTING_CHECKS)
def test_sklearn_fitting_checks(check: str) -> None:
    getattr(estimator_checks, check)("JsonVectorizer", JsonVectorizer(dim=64))


def test_transform_is_encode_batch() -> None:
    book = Codebook(dim=128, seed=4)
    expected = encode_batch(RECORDS, book)
    assert np.array_equal(JsonVectorizer(book).fit_transform(RECORDS), expected)
    assert np.array_equal(JsonVectorizer(dim=128, seed=4).transform(RECORDS), expected)
    assert np.array_equal(JsonVectorizer(book, input_type="json").transform(TEXTS), expected)
    as_bytes = [t.encode() for t in TEXTS]
    assert np.array_equal(JsonVectorizer(book, input_type="json").transform(as_bytes), expected)


def test_a_codebook_file(tmp_path: Path) -> None:
    book = Codebook(dim=64, seed=8)
    save_codebook(book, str(tmp_path / "book.jvc"))
    vectorizer = JsonVectorizer(tmp_path / "book.jvc").fit(RECORDS)
    assert vectorizer.codebook_ == book
    assert np.array_equal(vectorizer.transform(RECORDS[:3]), encode_batch(RECORDS[:3], book))


def test_stateless_by_default() -> None:
    vectorizer = JsonVectorizer(dim=64)
    before = vectorizer.transform(RECORDS[:5])  # no fit needed, as for FeatureHasher
    vectorizer.fit(RECORDS[100:])
    assert np.array_equal(vectorizer.transform(RECORDS[:5]), before)
    assert vectorizer.get_params() == {
        "codebook": None, "dim": 64, "seed": 0, "input_type": "dict",
        "learn_weights": False, "floor": 0.25,
    }  # fmt: skip


def test_learn_weights_as_codebook_fit_does() -> None:
    vectorizer = JsonVectorizer(dim=64, learn_weights=True)
    with pytest.raises(NotFittedError):
        vectorizer.transform(RECORDS)
    vectorizer.fit(RECORDS)
    learnt = fit_settings(RECORDS)
    assert vectorizer.codebook_.settings == learnt
    assert vectorizer.codebook_.settings.field_weights["kind"] < 1.0
    expected = encode_batch(RECORDS, Codebook(dim=64, settings=learnt))
    assert np.array_equal(vectorizer.transform(RECORDS), expected)
    with pytest.raises(ValueError, match="needs at least one record"):
        JsonVectorizer(learn_weights=True).fit([])


def test_in_a_pipeline_with_a_classifier() -> None:
    model = make_pipeline(JsonVectorizer(dim=256), LogisticRegression(max_iter=500))
    scores = cross_val_score(model, RECORDS, LABELS, cv=3)
    assert scores.mean() > 0.95
    cloned = clone(model).set_params(jsonvectorizer__seed=3)
    assert cloned.get_params()["jsonvectorizer__seed"] == 3


def test_in_a_column_transformer() -> None:
    frame = pd.DataFrame({"payload": TEXTS, "shop": ["a", "b", "c"] * 60})
    both = ColumnTransformer(
        [
            ("json", JsonVectorizer(dim=64, input_type="json"), "payload"),
            ("shop", OneHotEncoder(), ["shop"]),
        ],
        sparse_threshold=0,
    )
    out = both.fit_transform(frame)
    assert out.shape == (180, 64 + 3)
    assert np.allclose(out[:, :64], encode_batch(RECORDS, Codebook(dim=64)))
    one_column = ColumnTransformer([("json", JsonVectorizer(dim=64, input_type="json"),
                                     ["payload"])])  # fmt: skip
    assert np.allclose(one_column.fit_transform(frame), out[:, :64])
    names = both.get_feature_names_out()
    assert names[0] == "json__jsonvec0"
    assert names[-1] == "shop__shop_c"


def test_pandas_one_liner() -> None:
    frame = pd.DataFrame({"payload": TEXTS})
    frame["vector"] = list(JsonVectorizer(input_type="json").transform(frame["payload"]))
    assert np.array_equal(np.stack(frame["vector"].to_numpy()), encode_batch(RECORDS))


@pytest.mark.parametrize(
    ("vectorizer", "data", "error", "message"),
    [
        (JsonVectorizer(), TEXTS[:2], EncodeError, "sample 0 is str: pass input_type='json'"),
        (JsonVectorizer(input_type="json"), ['{"a": 1}', "{oops"], EncodeError,
         "sample 1: invalid JSON"),
        (JsonVectorizer(input_type="json"), [{"a": 1}], EncodeError,
         "sample 0 is dict, not JSON text"),
        (JsonVectorizer(input_type="yaml"), RECORDS, ValueError, "input_type must be"),
        (JsonVectorizer(), {"a": 1}, TypeError, "expected an iterable of records"),
        (JsonVectorizer(), np.zeros((3, 2)), ValueError, "expected one column of records"),
        (JsonVectorizer(), [{"a": {1, 2}}], EncodeError, "at 'a': cannot encode a value of type"),
        (JsonVectorizer(dim=100), RECORDS, Exception, "dim must be a multiple of 8"),
        (JsonVectorizer(learn_weights=True, floor=2.0), RECORDS, ValueError, "floor must be"),
    ],
)  # fmt: skip
def test_bad_input(vectorizer: JsonVectorizer, data: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace("'", "'")):
        vectorizer.fit_transform(data)
