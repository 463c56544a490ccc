"""The codebook: seed, dimension, matrix family and settings, and the vectors they define.

A codebook is data: the parameters that pin every vector, and the role matrices of key names
they define. The encoders derive atoms and leaf vectors from the same parameters
(:mod:`jsonvec.encoding.leaves`) by exact integer hashing and element-wise IEEE arithmetic; the file
stores them with a format version and a fingerprint (see :mod:`jsonvec.codebook.files`).
:mod:`jsonvec.inspect` shows single leaf vectors and role matrices.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import orjson

from jsonvec._utils import arguments
from jsonvec._utils.cache import LruCache
from jsonvec.codebook.roles import SignedPermutation
from jsonvec.codebook.settings import Settings
from jsonvec.errors import CodebookError

#: The version of the codebook parameters this jsonvec writes and reads.
FORMAT = 2
FAMILIES = ("signed-permutation",)
DEFAULT_DIM = 1024
DEFAULT_SEED = 0
MIN_DIM, MAX_DIM = 64, 65536

_ROLE_CACHE = 1 << 10
#: the kinds of role matrices: of a key name, of array positions, of sets
ROLE_KINDS = ("key", "seq", "set")


#: The settings that count an atom's entries: none may exceed the dimension.
NONZEROS = ("atom_nonzeros", "piece_nonzeros", "number_exact_nonzeros", "number_anchor_nonzeros")


class Codebook:
    """The parameters of an encoding, and the role matrices of key names they define.

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

    Examples
    --------
    >>> book = Codebook(dim=512, seed=7)
    >>> book.fingerprint == Codebook(dim=512, seed=7).fingerprint
    True
    >>> book.params()["dim"], book == Codebook(dim=512, seed=8)
    (512, False)
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
        if not isinstance(family, str) or family not in FAMILIES:
            raise CodebookError("", f"unknown matrix family {family!r}")
        if settings is not None and not isinstance(settings, Settings):
            raise CodebookError("", f"settings must be a Settings, not {type(settings).__name__}")
        self.dim = dim
        self.seed = seed
        self.settings = settings if settings is not None else Settings()
        self.family = family
        self._roles: LruCache[tuple[str, str], SignedPermutation] = LruCache(_ROLE_CACHE)
        for name in NONZEROS:
            if getattr(self.settings, name) > dim:
                raise CodebookError("", f"{name} must be at most dim ({dim})")

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

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (and copied) as its parameters: the role cache, and its lock, stay behind."""
        return (Codebook, (self.dim, self.seed, self.settings, self.family))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Codebook) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"Codebook(dim={self.dim}, seed={self.seed}, fingerprint={self.fingerprint!r})"

    def role(self, kind: str, name: str = "") -> SignedPermutation:
        """The orthogonal role matrix of ``name``: kind ``key`` (a key name), ``seq`` or ``set``."""
        arguments.choice(kind, "kind", ROLE_KINDS)
        arguments.text(name, "name")
        found = self._roles.get((kind, name))
        if found is None:
            found = SignedPermutation.from_seed(self.seed, kind, name, self.dim)
            self._roles.put((kind, name), found)
        return found


@cache
def default_codebook() -> Codebook:
    """The built-in codebook (dim 1024, seed 0, default settings), the same on every machine.

    >>> default_codebook() == Codebook(dim=1024, seed=0)
    True
    """
    return Codebook()
