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

How it runs fast: the walk over a record only lists its leaves as terms (record row, role,
weight, value). A batch's strings, numbers and constants then become sparse leaf vectors a
few numpy passes at a time, every entry is moved by its role (a signed permutation moves an
entry in O(1)), and one ``bincount`` adds all entries into the batch's vectors.

Bit-identical results on every machine, in any batch or process: every entry is rounded to a
multiple of 2**-32 before it is added, so every sum is a sum of integers below 2**53 — exact
in float64, whatever the order of the additions. The only other reduction is
:func:`jsonvec.stable.norm`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook import Codebook, default_codebook
from jsonvec.errors import EncodeError
from jsonvec.leaves import CONSTANTS, LeafTable
from jsonvec.paths import child_path, element_path, format_path, parse_path
from jsonvec.roles import SignedPermutation
from jsonvec.stable import normalize

Float64Array = NDArray[np.float64]
Int64Array = NDArray[np.int64]

_UNIT = 2.0**32  # every entry is a whole number of 2**-32: sums are exact
_MAX_PATHS = 2048  # cached path nodes before the cache starts over
_MAX_ITEMS = 256  # array elements whose paths are cached, per array path
_MAX_ROLES = 512  # distinct roles gathered before a batch's terms are added in
_MAX_TERMS = 1 << 16  # terms gathered before they are added in
_MAX_ENTRIES = 1 << 20  # sparse entries expanded at once (bounds memory)
_CONSTANT_IDS = {name: i for i, name in enumerate(CONSTANTS)}


class _Path:
    """A concrete path in the records seen so far: its role product and its children."""

    __slots__ = ("array_kind", "gpath", "items", "keys", "role", "set_item", "slot", "stamp")

    def __init__(self, role: SignedPermutation, gpath: str) -> None:
        self.role = role
        self.gpath = gpath
        self.keys: dict[str, _Path] = {}
        self.items: list[_Path] = []
        self.set_item: _Path | None = None
        self.array_kind = 0  # 0 unknown, 1 ordered, 2 set
        self.stamp = -1
        self.slot = 0


class _Terms:
    """The leaves of the records being encoded, by type: row, role slot, weight, value.

    ``acc`` (and ``bag``, for the additive terms) receive them when they are added in.
    """

    def __init__(self, acc: Float64Array, bag: Float64Array | None) -> None:
        self.acc = acc
        self.bag = bag
        self.roles: list[SignedPermutation] = []
        self.strings: list[tuple[int, int, float, str]] = []
        self.numbers: list[tuple[int, int, float, int | float]] = []
        self.constants: list[tuple[int, int, float, int]] = []

    def clear(self) -> None:
        """Forget every term (after they were added in); the lists stay the same objects."""
        self.roles.clear()
        self.strings.clear()
        self.numbers.clear()
        self.constants.clear()

    def __len__(self) -> int:
        return len(self.strings) + len(self.numbers) + len(self.constants)


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
        self._beta = settings.array_set_weight
        self._seq = self.codebook.role("seq")
        self._set = self.codebook.role("set")
        self._constants = self.codebook.leaves.constants(CONSTANTS)
        self._stamp = 0
        self._paths = 0
        self._root = self._new_root()

    def encode(self, value: Any) -> NDArray[np.float32]:
        """One record's vector: ndarray of shape (dim,), float32, unit length.

        >>> v = Encoder().encode({"city": "Paris"})
        >>> v.shape, v.dtype.name
        ((1024,), 'float32')
        """
        return self.encode_batch([value])[0]

    def encode_batch(self, values: Iterable[Any]) -> NDArray[np.float32]:
        """Vectors of many records: ndarray of shape (n_records, dim), float32, rows unit length."""
        records = values if isinstance(values, Sequence) else list(values)
        n = len(records)
        acc = np.zeros(n * self.dim, dtype=np.float64)
        bag = np.zeros(n * self.dim, dtype=np.float64) if self._bag_weight > 0 else None
        terms = _Terms(acc, bag)
        self._stamp += 1
        for row, value in enumerate(records):
            self._walk(value, row, terms)
        self._add(terms)
        vectors = normalize(acc.reshape(n, self.dim))
        if bag is not None:
            vectors = normalize(vectors + self._bag_weight * normalize(bag.reshape(n, self.dim)))
        return vectors.astype(np.float32)

    # -- the walk -------------------------------------------------------------------------

    def _new_root(self) -> _Path:
        self._paths = 0
        return _Path(SignedPermutation.identity(self.dim), "")

    def _walk(self, value: Any, row: int, terms: _Terms) -> None:
        stack: list[tuple[Any, float, _Path]] = [(value, 1.0, self._root)]
        while stack:
            node, weight, path = stack.pop()
            if isinstance(node, dict) and node:
                self._object(node, weight, path, row, terms, stack)
            elif isinstance(node, list) and node:
                self._array(node, weight, path, row, terms, stack)
            else:
                self._leaf(node, row, weight, path, terms)

    def _object(
        self,
        node: dict[str, Any],
        weight: float,
        path: _Path,
        row: int,
        terms: _Terms,
        stack: list[tuple[Any, float, _Path]],
    ) -> None:
        if self._field_weights:
            self._weighted_object(node, weight, path, row, terms, stack)
            return
        keys = path.keys
        scale = weight / math.sqrt(len(node))
        strings, numbers = terms.strings, terms.numbers
        # the hot loop: strings and numbers are listed inline, everything else via _leaf
        for key, child in node.items():
            found = keys.get(key)
            if found is None:
                found = self._key_path(path, key)
            kind = type(child)
            if kind is str or kind is float or kind is int:
                if found.stamp != self._stamp:
                    self._slot(found, terms)
                (strings if kind is str else numbers).append((row, found.slot, scale, child))
            elif (kind is dict or kind is list) and child:
                stack.append((child, scale, found))
            else:
                self._leaf(child, row, scale, found, terms)
        if len(strings) + len(numbers) >= _MAX_TERMS:
            self._add(terms)

    def _weighted_object(
        self,
        node: dict[str, Any],
        weight: float,
        path: _Path,
        row: int,
        terms: _Terms,
        stack: list[tuple[Any, float, _Path]],
    ) -> None:
        """An object under ``field_weights`` or ``ignore_fields``."""
        keys = path.keys
        children = [(keys.get(key) or self._key_path(path, key), child) for key, child in node.items()]
        relative = [self._field_weights.get(p.gpath, 1.0) for p, _ in children]
        total = math.sqrt(sum(w * w for w in relative))
        if total == 0.0:  # every field ignored: the object reads as {}
            self._leaf({}, row, weight, path, terms)
            return
        scale = weight / total
        for (child_path_, child), w in zip(children, relative, strict=True):
            if w == 0.0:
                continue
            if isinstance(child, dict | list) and child:
                stack.append((child, scale * w, child_path_))
            else:
                self._leaf(child, row, scale * w, child_path_, terms)

    def _array(
        self,
        node: list[Any],
        weight: float,
        path: _Path,
        row: int,
        terms: _Terms,
        stack: list[tuple[Any, float, _Path]],
    ) -> None:
        child_weight = weight / math.sqrt(len(node))
        if path.array_kind == 0:
            path.array_kind = 2 if path.gpath in self._set_arrays else 1
        set_item = path.set_item or self._set_path(path)
        if path.array_kind == 2:
            for element in node:
                if isinstance(element, dict | list) and element:
                    stack.append((element, child_weight, set_item))
                else:
                    self._leaf(element, row, child_weight, set_item, terms)
            return
        # an ordered array, plus (array_set_weight > 0) an order-free copy of its scalar
        # elements: one term more per scalar, never a second walk of a subtree
        beta = self._beta
        ordered_weight = child_weight / math.sqrt(1.0 + beta * beta)
        items = path.items
        item = path
        for index, element in enumerate(node):
            item = items[index] if index < len(items) else self._item_path(path, index, item)
            if isinstance(element, dict | list) and element:
                stack.append((element, child_weight, item))
            elif beta > 0.0:
                self._leaf(element, row, ordered_weight, item, terms)
                self._leaf(element, row, beta * ordered_weight, set_item, terms)
            else:
                self._leaf(element, row, child_weight, item, terms)

    def _slot(self, path: _Path, terms: _Terms) -> None:
        """Give ``path`` a role slot among the terms gathered now."""
        if len(terms.roles) >= _MAX_ROLES:
            self._add(terms)
        path.stamp = self._stamp
        path.slot = len(terms.roles)
        terms.roles.append(path.role)

    def _leaf(self, value: Any, row: int, weight: float, path: _Path, terms: _Terms) -> None:
        if path.stamp != self._stamp:
            self._slot(path, terms)
        kind = type(value)
        if kind is str:
            target: Any = terms.strings
        elif kind is float or kind is int:
            target = terms.numbers
        elif value is None or kind is bool or (kind is dict or kind is list):
            target = terms.constants
            value = _CONSTANT_IDS[_constant(value)]
        else:
            target, value = self._unusual(value, terms)
        target.append((row, path.slot, weight, value))
        if len(target) >= _MAX_TERMS:
            self._add(terms)

    def _unusual(self, value: Any, terms: _Terms) -> tuple[Any, Any]:
        """Subclasses of the JSON types (``IntEnum``, ``OrderedDict()``...)."""
        if isinstance(value, bool) or (isinstance(value, dict | list) and not value):
            return terms.constants, _CONSTANT_IDS[_constant(value)]
        if isinstance(value, str):
            return terms.strings, str(value)
        if isinstance(value, int):
            return terms.numbers, int(value)
        if isinstance(value, float):
            return terms.numbers, float(value)
        raise EncodeError(f"cannot encode a value of type {type(value).__name__}")

    def _grow(self) -> None:
        self._paths += 1
        if self._paths > _MAX_PATHS:  # forget every cached path; nodes in use stay valid
            self._root = self._new_root()

    def _key_path(self, parent: _Path, key: str) -> _Path:
        self._grow()
        role = parent.role.compose(self.codebook.role("key", key))
        found = parent.keys[key] = _Path(role, child_path(parent.gpath, key))
        return found

    def _item_path(self, parent: _Path, index: int, previous: _Path) -> _Path:
        """The path of element ``index``, whose predecessor (or parent) is ``previous``."""
        found = _Path(previous.role.compose(self._seq), element_path(parent.gpath))
        if index < _MAX_ITEMS:  # a long array's tail is not cached: it would pin its roles
            self._grow()
            parent.items.append(found)
        return found

    def _set_path(self, parent: _Path) -> _Path:
        self._grow()
        found = parent.set_item = _Path(parent.role.compose(self._set), element_path(parent.gpath))
        return found

    # -- adding the terms in --------------------------------------------------------------

    def _add(self, terms: _Terms) -> None:
        """Add every gathered term into ``terms.acc`` (and ``terms.bag``), then clear them."""
        self._stamp += 1  # role slots start over
        if not len(terms):
            terms.clear()
            return
        acc, bag = terms.acc, terms.bag
        scatter = [role.scatter for role in terms.roles]
        inverse = np.stack([s[0] for s in scatter]).ravel()
        signs = np.stack([s[1] for s in scatter]).ravel()
        leaves = self.codebook.leaves
        settings = self.codebook.settings
        k = settings.atom_nonzeros
        rows, slots, weights, texts = _columns(terms.strings)
        cost = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        cost = settings.piece_nonzeros * 2 * np.minimum(cost, settings.ngram_max_chars) + 4 * k
        for part in _chunks(cost):
            unique, ids = _unique(texts[part])
            self._scatter(
                leaves.strings(unique), ids, rows[part], slots[part], weights[part],
                inverse, signs, acc, bag,
            )  # fmt: skip
        rows, slots, weights, numbers = _columns(terms.numbers)
        per_number = k * (1 + 2 * len(settings.number_level_widths))
        for part in _chunks(np.full(len(numbers), per_number, dtype=np.int64)):
            unique, ids = _unique(numbers[part])
            self._scatter(
                leaves.numbers(unique), ids, rows[part], slots[part], weights[part],
                inverse, signs, acc, bag,
            )  # fmt: skip
        rows, slots, weights, constants = _columns(terms.constants)
        for part in _chunks(np.full(len(constants), k, dtype=np.int64)):
            self._scatter(
                self._constants, constants[part], rows[part], slots[part], weights[part],
                inverse, signs, acc, bag,
            )  # fmt: skip
        terms.clear()

    def _scatter(
        self,
        table: LeafTable,
        leaf_ids: Sequence[int],
        rows: Sequence[int],
        slots: Sequence[int],
        weights: Sequence[float],
        inverse: NDArray[np.intp],
        signs: Float64Array,
        acc: Float64Array,
        bag: Float64Array | None,
    ) -> None:
        """Add the terms' bound leaf entries, each rounded to a multiple of 2**-32, to acc."""
        ids = np.asarray(leaf_ids, dtype=np.int64)
        starts = table.ptr[ids]
        lengths = table.ptr[ids + 1] - starts
        term = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
        ends = np.cumsum(lengths)
        entry = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(starts - ends + lengths, lengths)
        positions = table.positions[entry]
        values = table.values[entry] * np.asarray(weights, dtype=np.float64)[term]
        base = np.asarray(rows, dtype=np.int64)[term] * self.dim
        moved = np.asarray(slots, dtype=np.int64)[term] * self.dim + positions
        bound = np.rint(values * signs[moved] * _UNIT)
        acc += np.bincount(base + inverse[moved], weights=bound, minlength=len(acc))
        if bag is not None:
            bag += np.bincount(base + positions, weights=np.rint(values * _UNIT), minlength=len(bag))


def _constant(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "{}" if isinstance(value, dict) else "[]"


def _columns(terms: list[tuple[int, int, float, Any]]) -> tuple[Any, Any, Any, Any]:
    """Rows, slots, weights and values of a list of terms, as four sequences."""
    if not terms:
        return (), (), (), ()
    rows, slots, weights, values = zip(*terms, strict=True)
    return rows, slots, weights, values


def _chunks(cost: Int64Array) -> list[slice]:
    """Consecutive slices of the terms whose expanded entries stay near ``_MAX_ENTRIES``."""
    if not len(cost):
        return []
    group = np.cumsum(cost) // _MAX_ENTRIES
    cuts = np.flatnonzero(np.diff(group)) + 1
    bounds = [0, *cuts.tolist(), len(cost)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _unique(values: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Distinct values in order of first appearance, and each value's index among them."""
    index: dict[Any, int] = {}
    ids = [index.setdefault(v, len(index)) for v in values]
    return list(index), ids


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
