"""Looking inside an encoding: the leaf vector of one value, the role matrix of one key.

For understanding and testing the method (docs/method.md); the encoders build leaves many
at once and never call these.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.codebook.roles import SignedPermutation
from jsonvec.encoding.leaves import LeafCoder, constant_name
from jsonvec.errors import EncodeError

__all__ = ["leaf_vector", "role_matrix"]


def leaf_vector(value: object, codebook: Codebook | None = None) -> NDArray[np.float64]:
    """The leaf vector of one JSON scalar (or empty container), dense.

    Parameters
    ----------
    value : str, int, float, bool, None, {} or []
    codebook : Codebook, optional
        Defaults to the built-in codebook.

    Returns
    -------
    ndarray of shape (dim,), float64

    Raises
    ------
    EncodeError
        For any other value.

    Examples
    --------
    Strings that share letters share part of their vectors:

    >>> paris = leaf_vector("Paris")
    >>> [round(float(paris @ leaf_vector(other)), 2) for other in ("paris", "Pariss", "Rome")]
    [0.84, 0.66, 0.05]
    """
    book = codebook if codebook is not None else default_codebook()
    coder = LeafCoder.of(book)
    if isinstance(value, str):
        return coder.strings([value]).dense(0, book.dim)
    if isinstance(value, bool) or value is None or value in ({}, []):
        return coder.constants([constant_name(value)]).dense(0, book.dim)
    if isinstance(value, int | float):
        return coder.numbers([value]).dense(0, book.dim)
    raise EncodeError(f"cannot encode a value of type {type(value).__name__}")


def role_matrix(kind: str, name: str = "", codebook: Codebook | None = None) -> SignedPermutation:
    """The orthogonal role matrix of a key name (kind ``key``), or of array order (``seq``)
    or membership (``set``).

    Examples
    --------
    >>> role = role_matrix("key", "city", Codebook(dim=64))
    >>> dense = role.matrix()
    >>> bool(np.allclose(dense @ dense.T, np.eye(64)))
    True
    """
    book = codebook if codebook is not None else default_codebook()
    return book.role(kind, name)
