"""Searching stored vectors: exact cosine, the ANN index, hits, filters on stored records
(``--where``), field-by-field scores (``--by-field``), and :class:`Vectors` for Python."""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Index":
        from jsonvec.search.exact import CollectionSearch  # noqa: PLC0415

        warnings.warn(
            "jsonvec.search.Index is now CollectionSearch (so that it is not taken for the ANN "
            "index); the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return CollectionSearch
    raise AttributeError(f"module 'jsonvec.search' has no attribute {name!r}")
