"""A scikit-learn transformer: JSON records (dicts or JSON text) to jsonvec vectors.

``JsonVectorizer`` goes where ``FeatureHasher`` or ``DictVectorizer`` would: in a
``Pipeline``, or on one column of a ``ColumnTransformer``. Like ``FeatureHasher`` it is
stateless by default (``fit`` only checks the parameters: every vector depends on the
codebook alone); with ``learn_weights=True`` ``fit`` learns field weights from the training
records as ``jsonvec codebook fit`` does. Needs the ``sklearn`` extra (scikit-learn).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from jsonvec.codebook.codebook import DEFAULT_DIM, DEFAULT_SEED, Codebook
from jsonvec.codebook.files import load_codebook
from jsonvec.codebook.fit import DEFAULT_FLOOR, fit_settings
from jsonvec.encoding.encoder import encoder_for
from jsonvec.errors import ArgumentError, EncodeError
from jsonvec.records.values import as_json

__all__ = ["JsonVectorizer"]

INPUT_TYPES = ("dict", "json")


class JsonVectorizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Encode JSON records into fixed-length vectors (MBAT with seeded orthogonal matrices).

    Parameters
    ----------
    codebook : Codebook or path of a codebook file, optional
        The codebook to encode with; when given, ``dim`` and ``seed`` are not used.
    dim : int
        Vector dimension of the codebook made when ``codebook`` is None.
    seed : int
        Seed of the codebook made when ``codebook`` is None.
    input_type : {"dict", "json"}
        What each sample is: a record as Python values (a dict, usually; numpy values and
        tuples are taken as the JSON they stand for), or the JSON text of a record (str or
        bytes). A string is refused as a sample with ``"dict"``, where it would be encoded as
        a record that is one bare string.
    learn_weights : bool
        Learn a weight per field path in ``fit`` from how much its values tell the training
        records apart (``jsonvec codebook fit``); the default leaves every field its
        weight of 1 and ``fit`` learns nothing.
    floor : float
        With ``learn_weights``: the weight of a field that holds one value in every record.

    Attributes
    ----------
    codebook_ : Codebook
        The codebook ``transform`` encodes with (set by ``fit``).
    n_features_out_ : int
        The vector dimension.

    Examples
    --------
    >>> vectorizer = JsonVectorizer(dim=256)
    >>> vectorizer.fit_transform([{"city": "Paris"}, {"city": "Lyon"}]).shape
    (2, 256)
    >>> JsonVectorizer(dim=256, input_type="json").transform(['{"city": "Paris"}']).dtype
    dtype('float32')
    """

    def __init__(
        self,
        codebook: Codebook | str | os.PathLike[str] | None = None,
        *,
        dim: int = DEFAULT_DIM,
        seed: int = DEFAULT_SEED,
        input_type: str = "dict",
        learn_weights: bool = False,
        floor: float = DEFAULT_FLOOR,
    ) -> None:
        self.codebook = codebook
        self.dim = dim
        self.seed = seed
        self.input_type = input_type
        self.learn_weights = learn_weights
        self.floor = floor

    def fit(self, X: Any, y: Any = None) -> JsonVectorizer:  # noqa: N803 - sklearn's name
        """Check the parameters, and learn field weights if ``learn_weights``.

        Parameters
        ----------
        X : iterable of records (see ``input_type``)
            Read only with ``learn_weights``.
        y : ignored

        Returns
        -------
        self
        """
        book = self._base_codebook()
        if self.learn_weights:
            if not 0.0 <= self.floor <= 1.0:
                raise ArgumentError(f"floor must be from 0 to 1, not {self.floor!r}")
            records = [as_json(r) for r in self._records(X)]
            if not records:
                raise ArgumentError("learn_weights needs at least one record to learn from")
            settings = fit_settings(records, book.settings, self.floor)
            book = Codebook(book.dim, book.seed, settings, book.family)
        self.codebook_ = book
        self.n_features_out_ = book.dim
        return self

    def transform(self, X: Any) -> NDArray[np.float32]:  # noqa: N803 - sklearn's name
        """Encode the records.

        Parameters
        ----------
        X : iterable of records (see ``input_type``)
            A list, a pandas Series, or a one-column DataFrame or 2-D array (as a
            ``ColumnTransformer`` gives a column selected as ``["name"]``).

        Returns
        -------
        ndarray of shape (n_samples, dim), float32, rows unit length
        """
        if self.learn_weights:
            check_is_fitted(self, "codebook_")
        book = getattr(self, "codebook_", None) or self._base_codebook()
        return encoder_for(book).encode_batch(self._records(X))

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """Names of the output columns: ``jsonvec0``, ``jsonvec1``, ..."""
        dim = getattr(self, "n_features_out_", None) or self._base_codebook().dim
        return np.asarray([f"jsonvec{i}" for i in range(dim)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = self.input_type == "dict"
        tags.input_tags.string = self.input_type == "json"
        tags.requires_fit = self.learn_weights
        return tags

    def _base_codebook(self) -> Codebook:
        if self.input_type not in INPUT_TYPES:
            raise ArgumentError(f"input_type must be 'dict' or 'json', not {self.input_type!r}")
        if self.codebook is None:
            return Codebook(dim=self.dim, seed=self.seed)
        if isinstance(self.codebook, Codebook):
            return self.codebook
        return load_codebook(os.fspath(self.codebook))

    def _records(self, X: Any) -> list[Any]:  # noqa: N803 - sklearn's name
        rows = _column(X)
        if self.input_type == "json":
            return [_parsed(text, i) for i, text in enumerate(rows)]
        for i, row in enumerate(rows):
            if isinstance(row, str | bytes):
                raise EncodeError(
                    f"sample {i} is {type(row).__name__}: pass input_type='json' for JSON text"
                )
        return rows


def _column(X: Any) -> list[Any]:  # noqa: N803 - sklearn's name
    """The samples of ``X``: one column of a DataFrame or 2-D array, or any iterable."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame
        if len(X.columns) != 1:
            raise ArgumentError(f"expected one column of records, got {len(X.columns)} columns")
        return list(X.iloc[:, 0])
    if isinstance(X, np.ndarray) and X.ndim == 2:
        if X.shape[1] != 1:
            raise ArgumentError(f"expected one column of records, got {X.shape[1]} columns")
        return list(X[:, 0])
    if isinstance(X, dict | str | bytes) or not isinstance(X, Iterable):
        raise ArgumentError(
            f"expected an iterable of records (a list, a Series), got {type(X).__name__}"
        )
    return list(X)


def _parsed(text: Any, index: int) -> Any:
    if not isinstance(text, str | bytes):
        raise EncodeError(
            f"sample {index} is {type(text).__name__}, not JSON text (input_type='json')"
        )
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise EncodeError(f"sample {index}: invalid JSON: {exc}") from exc
