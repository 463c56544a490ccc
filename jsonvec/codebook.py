"""The codebook: seed, dimension, matrix family and settings, and the vectors they define.

A codebook turns symbols into atoms, key names into role matrices and JSON leaves into leaf
vectors. Everything is derived from its parameters by exact integer hashing and element-wise
IEEE arithmetic, so the parameters alone pin every vector; the file stores them with a
format version and a fingerprint (see :mod:`jsonvec.codebook_file`).
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.cache import LruCache
from jsonvec.errors import CodebookError, EncodeError
from jsonvec.leaves import LeafCoder
from jsonvec.roles import SignedPermutation
from jsonvec.settings import Settings

#: The version of the codebook parameters this jsonvec writes and reads.
FORMAT = 2
FAMILIES = ("signed-permutation",)
DEFAULT_DIM = 1024
DEFAULT_SEED = 0
MIN_DIM, MAX_DIM = 64, 65536

_ROLE_CACHE = 1 << 10


class Codebook:
    """Parameters of an encoding and the atoms, roles and leaf vectors they determine.

    Parameters
    ----------
    dim : int
        Vector dimension, a multiple of 8 from 64 to 65536.
    seed : int
        Any integer from 0 to 2**64 - 1; every random choice derives from it.
    settings : Settings, optional
        Representation knobs; defaults to ``Settings()``.
    family : str
        The family of role matrices; ``"signed-permutation"``.
    """

    def __init__(
        self,
        dim: int = DEFAULT_DIM,
        seed: int = DEFAULT_SEED,
        settings: Settings | None = None,
        family: str = FAMILIES[0],
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or not MIN_DIM <= dim <= MAX_DIM:
            raise CodebookError("", f"dim must be an integer from {MIN_DIM} to {MAX_DIM}")
        if dim % 8:
            raise CodebookError("", f"dim must be a multiple of 8, not {dim}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise CodebookError("", "seed must be an integer from 0 to 2**64 - 1")
        if family not in FAMILIES:
            raise CodebookError("", f"unknown matrix family {family!r}")
        self.dim = dim
        self.seed = seed
        self.settings = settings if settings is not None else Settings()
        self.family = family
        self._roles: LruCache[tuple[str, str], SignedPermutation] = LruCache(_ROLE_CACHE)
        for name in ("atom_nonzeros", "piece_nonzeros"):
            if getattr(self.settings, name) > dim:
                raise CodebookError("", f"{name} must be at most dim ({dim})")
        self.leaves = LeafCoder(seed, dim, self.settings)

    def params(self) -> dict[str, Any]:
        """The parameters that determine every vector, as a JSON-ready dict."""
        return {
            "format": FORMAT,
            "dim": self.dim,
            "dtype": "float32",
            "seed": self.seed,
            "family": self.family,
            "settings": self.settings.to_dict(),
        }

    @property
    def fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the canonical parameters; equal codebooks agree."""
        canonical = orjson.dumps(self.params(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Codebook) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"Codebook(dim={self.dim}, seed={self.seed}, fingerprint={self.fingerprint!r})"

    def role(self, kind: str, name: str = "") -> SignedPermutation:
        """The orthogonal role matrix of ``name``: kind ``key`` (a key name), ``seq`` or ``set``."""
        found = self._roles.get((kind, name))
        if found is None:
            found = SignedPermutation.from_seed(self.seed, kind, name, self.dim)
            self._roles.put((kind, name), found)
        return found

    def leaf(self, value: object) -> NDArray[np.float64]:
        """The leaf vector of one JSON scalar (or empty container), dense: shape (dim,).

        For inspection and tests; the encoder builds leaves many at once (:attr:`leaves`).
        """
        if isinstance(value, str):
            return self.leaves.strings([value]).dense(0, self.dim)
        if isinstance(value, bool) or value is None or value in ({}, []):
            return self.leaves.constants([constant_name(value)]).dense(0, self.dim)
        if isinstance(value, int | float):
            return self.leaves.numbers([value]).dense(0, self.dim)
        raise EncodeError(f"cannot encode a value of type {type(value).__name__}")


def constant_name(value: object) -> str:
    """The atom name of ``true``, ``false``, ``null``, ``{}`` or ``[]``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "{}" if isinstance(value, dict) else "[]"


@cache
def default_codebook() -> Codebook:
    """The built-in codebook (dim 1024, seed 0, default settings), the same on every machine."""
    return Codebook()
