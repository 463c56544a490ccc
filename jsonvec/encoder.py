"""The MBAT record encoder: JSON value -> unit vector.

``enc({k: v, ...}) = Σ_k Q_k · enc(v)`` with one orthogonal role matrix per key name,
``enc([v0, v1, ...]) = Σ_i Q_seq^(i+1) · enc(v_i)`` for ordered arrays (``Q_set · Σ_i enc(v_i)``
for arrays configured as sets), and soft leaf vectors for strings and numbers
(:mod:`jsonvec.leaves`). A leaf under ``a.b.c`` is multiplied by ``Q_a Q_b Q_c``; these
products are cached per path.

Each object and array is scaled by ``1/sqrt(n_children)`` before it is bound: its children
are unit vectors bound by different orthogonal matrices, hence nearly orthogonal, so this is
unit length in expectation and keeps a big subtree from drowning its siblings. The record's
final vector is normalised exactly.

Bit-identical results on every machine: keys are visited in sorted order (so key order in the
text cannot matter), terms are added one at a time in that order in float64, and the only
reduction is :func:`jsonvec.stable.norm`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.cache import LruCache
from jsonvec.codebook import Codebook, default_codebook
from jsonvec.paths import child_path, element_path, format_path, parse_path
from jsonvec.roles import SignedPermutation
from jsonvec.stable import normalize

# value, weight, role product so far (None: identity), generic path, concrete path
_Item = tuple[Any, float, SignedPermutation | None, str, tuple[str | int, ...]]
_SET_ELEMENT = -1  # concrete-path marker for "an element of a set array"
_COMPOSITE_CACHE = 1 << 11


class Encoder:
    """Encodes JSON values with one codebook, caching role products per path.

    Parameters
    ----------
    codebook : Codebook, optional
        Defaults to :func:`jsonvec.codebook.default_codebook`.
    """

    def __init__(self, codebook: Codebook | None = None) -> None:
        self.codebook = codebook if codebook is not None else default_codebook()
        self.dim = self.codebook.dim
        settings = self.codebook.settings
        self._set_arrays = frozenset(format_path(parse_path(p)) for p in settings.set_arrays)
        self._bag_weight = settings.leaf_bag_weight
        self._field_weights = settings.weight_of()
        self._array_set_weight = settings.array_set_weight
        self._composites: LruCache[tuple[str | int, ...], SignedPermutation] = LruCache(
            _COMPOSITE_CACHE
        )

    def encode(self, value: Any) -> NDArray[np.float32]:
        """One record's vector: ndarray of shape (dim,), float32, unit length.

        >>> v = Encoder().encode({"city": "Paris"})
        >>> v.shape, v.dtype.name
        ((1024,), 'float32')
        """
        acc = np.zeros(self.dim, dtype=np.float64)
        bag = np.zeros(self.dim, dtype=np.float64) if self._bag_weight > 0 else None
        for weight, composite, leaf in self._terms(value):
            leaf64 = leaf.astype(np.float64)
            bound = leaf64 if composite is None else composite.apply(leaf64)
            acc += weight * bound
            if bag is not None:
                bag += weight * leaf64
        if bag is not None:
            acc = normalize(acc) + self._bag_weight * normalize(bag)
        return normalize(acc).astype(np.float32)

    def encode_batch(self, values: Iterable[Any]) -> NDArray[np.float32]:
        """Vectors of many records: ndarray of shape (n_records, dim), float32."""
        rows = [self.encode(value) for value in values]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(rows)

    def _terms(self, value: Any) -> Iterator[tuple[float, SignedPermutation | None, Any]]:
        """Yield ``(weight, role product, leaf vector)`` for every leaf, depth first."""
        root: _Item = (value, 1.0, None, "", ())
        stack: list[Iterator[_Item]] = [iter((root,))]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                continue
            node, weight, composite, _, _ = item
            if isinstance(node, dict | list) and node:
                stack.append(self._children(item))
            else:
                yield weight, composite, self.codebook.leaf(node)

    def _children(self, item: _Item) -> Iterator[_Item]:
        node, weight, composite, gpath, cpath = item
        if isinstance(node, dict):
            yield from self._fields(item)
            return
        child_weight = weight / math.sqrt(len(node))
        elements = element_path(gpath)
        set_path = (*cpath, _SET_ELEMENT)
        if gpath in self._set_arrays:
            product = self._composite(set_path, composite, self.codebook.role("set"))
            for element in node:
                yield element, child_weight, product, elements, set_path
            return
        # an ordered array, plus (array_set_weight > 0) an order-free copy of its scalar
        # elements: one term more per scalar, never a second walk of a subtree
        beta = self._array_set_weight
        ordered_weight = child_weight / math.sqrt(1.0 + beta * beta)
        unordered = self._composite(set_path, composite, self.codebook.role("set"))
        seq = self.codebook.role("seq")
        product_or_none = composite
        for index, element in enumerate(node):
            path = (*cpath, index)
            product = self._composite(path, product_or_none, seq)
            product_or_none = product
            if beta > 0.0 and not (isinstance(element, dict | list) and element):
                yield element, ordered_weight, product, elements, path
                yield element, beta * ordered_weight, unordered, elements, set_path
            else:
                yield element, child_weight, product, elements, path

    def _fields(self, item: _Item) -> Iterator[_Item]:
        """The children of an object, in sorted key order, weighted by ``field_weights``."""
        node, weight, composite, gpath, cpath = item
        keys = sorted(node)
        paths = [child_path(gpath, key) for key in keys]
        weights = [self._field_weights.get(p, 1.0) for p in paths] if self._field_weights else None
        if weights is None:
            scale = weight / math.sqrt(len(keys))
        else:
            total = math.sqrt(sum(w * w for w in weights))
            if total == 0.0:  # every field ignored: the object reads as {}
                yield {}, weight, composite, gpath, cpath
                return
            scale = weight / total
        for i, key in enumerate(keys):
            relative = 1.0 if weights is None else weights[i]
            if relative == 0.0:
                continue
            path = (*cpath, key)
            product = self._composite(path, composite, self.codebook.role("key", key))
            yield node[key], scale * relative, product, paths[i], path

    def _composite(
        self,
        path: tuple[str | int, ...],
        parent: SignedPermutation | None,
        role: SignedPermutation,
    ) -> SignedPermutation:
        """``parent · role``, cached by the concrete path it belongs to."""
        found = self._composites.get(path)
        if found is None:
            found = role if parent is None else parent.compose(role)
            self._composites.put(path, found)
        return found


_encoders: weakref.WeakKeyDictionary[Codebook, Encoder] = weakref.WeakKeyDictionary()


def encoder_for(codebook: Codebook | None = None) -> Encoder:
    """A shared :class:`Encoder` for ``codebook`` (the default codebook if None)."""
    codebook = codebook if codebook is not None else default_codebook()
    found = _encoders.get(codebook)
    if found is None:
        found = _encoders[codebook] = Encoder(codebook)
    return found


def encode(value: Any, codebook: Codebook | None = None) -> NDArray[np.float32]:
    """Encode one JSON value: ndarray of shape (dim,), float32, unit length.

    >>> a = encode({"name": "Jonathan", "age": 31})
    >>> b = encode({"age": 31, "name": "Jonathan"})
    >>> bool((a == b).all())
    True
    """
    return encoder_for(codebook).encode(value)


def encode_batch(values: Sequence[Any], codebook: Codebook | None = None) -> NDArray[np.float32]:
    """Encode many JSON values: ndarray of shape (n_records, dim), float32, rows unit length."""
    return encoder_for(codebook).encode_batch(values)
