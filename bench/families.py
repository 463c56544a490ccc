"""The dense Haar family of role matrices, to compare with jsonvec's signed permutations.

:class:`HaarEncoder` encodes exactly as :class:`jsonvec.Encoder` does — the same leaf
vectors, weights and order-free array copies — but binds with dense Haar-random orthogonal
matrices: the QR decomposition of a Gaussian matrix with the signs of ``diag(R)`` folded into
``Q``, one per key name (and one for ``seq``, one for ``set``), drawn from numpy's generator
seeded by the codebook seed and the name. Terms that share a path are bound together, one
matrix product per role along the path (the grouping ``docs/method.md`` describes).

It is not part of the library: its vectors depend on LAPACK and BLAS (not reproducible bit
for bit across machines), and a codebook would have to store 8 MB per key at dim 1024.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from typing import Any

import numpy as np

import jsonvec
from jsonvec.encoding.leaves import constant_name
from jsonvec.inspect import leaf_vector

Path = tuple[tuple[str, str], ...]  # (kind, name) of each role along the path


class HaarEncoder:
    """Encodes JSON values like :class:`jsonvec.Encoder`, binding with dense Haar matrices."""

    def __init__(self, codebook: jsonvec.Codebook | None = None) -> None:
        self.codebook = codebook or jsonvec.default_codebook()
        self.dim = self.codebook.dim
        self.beta = self.codebook.settings.array_set_weight
        self._leaves: dict[tuple[str, Any], np.ndarray] = {}
        self._roles: dict[tuple[str, str], np.ndarray] = {}

    def role(self, kind: str, name: str) -> np.ndarray:
        """The dense orthogonal matrix of a role: shape (dim, dim), float64."""
        found = self._roles.get((kind, name))
        if found is None:
            found = self._roles[(kind, name)] = self._draw(kind, name)
        return found

    def _draw(self, kind: str, name: str) -> np.ndarray:
        digest = hashlib.sha256(f"{self.codebook.seed}/{kind}/{name}".encode()).digest()
        rng = np.random.default_rng(list(digest))
        q, r = np.linalg.qr(rng.standard_normal((self.dim, self.dim)))
        return q * np.sign(np.diag(r))

    def encode_batch(self, values: list[Any]) -> np.ndarray:
        """Vectors of many records: shape (n, dim), float32, rows unit length."""
        groups: dict[Path, list[tuple[int, float, np.ndarray]]] = defaultdict(list)
        for row, value in enumerate(values):
            self._walk(value, 1.0, (), row, groups)
        acc = np.zeros((len(values), self.dim))
        for path, terms in groups.items():
            rows = np.array([t[0] for t in terms])
            block = np.stack([w * leaf for _, w, leaf in terms])
            for kind, name in reversed(path):  # Q_a Q_b Q_c x: the innermost role first
                block = block @ self.role(kind, name).T
            np.add.at(acc, rows, block)
        norms = np.linalg.norm(acc, axis=1, keepdims=True)
        return (acc / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def _walk(self, value: Any, weight: float, path: Path, row: int, groups: Any) -> None:
        if isinstance(value, dict) and value:
            scale = weight / math.sqrt(len(value))
            for key, child in value.items():
                self._walk(child, scale, (*path, ("key", key)), row, groups)
        elif isinstance(value, list) and value:
            child_weight = weight / math.sqrt(len(value))
            ordered = child_weight / math.sqrt(1.0 + self.beta * self.beta)
            seq: Path = path
            for element in value:
                seq = (*seq, ("seq", ""))
                if (isinstance(element, dict | list) and element) or self.beta == 0.0:
                    self._walk(element, child_weight, seq, row, groups)
                else:
                    self._walk(element, ordered, seq, row, groups)
                    self._walk(element, self.beta * ordered, (*path, ("set", "")), row, groups)
        else:
            groups[path].append((row, weight, self._leaf(value)))

    def _leaf(self, value: Any) -> np.ndarray:
        key = (
            ("c", constant_name(value))
            if isinstance(value, bool) or value is None or isinstance(value, dict | list)
            else (type(value).__name__, value)
        )
        found = self._leaves.get(key)
        if found is None:
            found = self._leaves[key] = leaf_vector(value, self.codebook)
        return found
