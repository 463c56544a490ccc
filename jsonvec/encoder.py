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

How it runs fast: the walk over a record only lists its terms (record row, weight, and the id
of the term's bound vector ``Q_path · leaf`` in a :class:`jsonvec.bound.BoundStore`). A
(path, value) pair met for the first time waits; then all waiting pairs of a batch get their
leaf vectors a few numpy passes at a time (:mod:`jsonvec.leaves`), every sparse entry is moved
by its role (a signed permutation moves an entry in O(1)), and the bound vectors are stored
for every later record. One ``bincount`` adds all the terms' entries into the batch's vectors.

Bit-identical results on every machine, in any batch or process: every entry is rounded to a
multiple of 2**-32 before it is added, so every sum is a sum of integers below 2**53 — exact
in float64, whatever the order of the additions. The only other reduction is
:func:`jsonvec.stable.norm`.
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.bound import BoundStore
from jsonvec.codebook import Codebook, constant_name, default_codebook
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
_MAX_ROLES = 512  # distinct roles stacked at once to bind new pairs
_MAX_TERMS = 1 << 16  # terms gathered before they are added in
_MAX_WAITING = 1 << 20  # estimated entries of new pairs gathered before they are bound
_MAX_ENTRIES = 1 << 20  # sparse entries expanded at once (bounds memory)
_STORE_ENTRIES = 1 << 22  # bound entries kept for later records
_LONG_STRING = 256  # longer strings are rarely repeated: not kept in the path's cache
_STRING, _NUMBER, _CONSTANT = 0, 1, 2
_CONSTANT_IDS = {name: i for i, name in enumerate(CONSTANTS)}
#: dict keys of the constants in a path's cache (``True == 1`` must not meet ``1``)
_CONSTANT_KEYS = {name: object() for name in CONSTANTS}


class _Path:
    """A concrete path in the records seen so far: its role product, its children, and the
    ids of the bound vectors of the values met at it."""

    __slots__ = ("array_kind", "bound", "gpath", "items", "keys", "role", "set_item")

    def __init__(self, role: SignedPermutation, gpath: str) -> None:
        self.role = role
        self.gpath = gpath
        self.keys: dict[str, _Path] = {}
        self.items: list[_Path] = []
        self.set_item: _Path | None = None
        self.array_kind = 0  # 0 unknown, 1 ordered, 2 set
        self.bound: dict[Any, int] = {}


class _Terms:
    """The terms of the records being encoded, and the (path, value) pairs still unbound.

    A term is a bound vector's id and a weight; ``ends`` says which record the terms belong to:
    ``(row, number of terms so far)`` after each record. A negative id ``-1 - i`` names
    ``waiting[i]``, a pair ``(kind, path, value, cache key or None)`` that gets its bound
    vector when the terms are added into ``acc`` (and ``bag``, for the additive leaf terms).
    """

    def __init__(self, acc: Float64Array, bag: Float64Array | None) -> None:
        self.acc = acc
        self.bag = bag
        self.ids: list[int] = []
        self.weights: list[float] = []
        self.ends: list[tuple[int, int]] = []
        self.waiting: list[tuple[int, _Path, Any, Any]] = []
        self.waiting_cost = 0

    def clear(self) -> None:
        """Forget every term (after they were added in); the lists stay the same objects."""
        self.ids.clear()
        self.weights.clear()
        self.ends.clear()
        self.waiting.clear()
        self.waiting_cost = 0


class Encoder:
    """Encodes JSON values with one codebook, caching role products and bound leaves per path.

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
        self._number_cost = settings.atom_nonzeros * (1 + 2 * len(settings.number_level_widths))
        self._store = BoundStore(_STORE_ENTRIES, raw=self._bag_weight > 0)
        self._paths = 0
        self._root = self._new_root()

    def encode(self, value: Any) -> NDArray[np.float32]:
        """One record's vector: ndarray of shape (dim,), float32, unit length.

        >>> v = Encoder().encode({"city": "Paris"})
        >>> v.shape, v.dtype.name
        ((1024,), 'float32')
        """
        row: NDArray[np.float32] = self.encode_batch([value])[0]
        return row

    def encode_batch(self, values: Iterable[Any]) -> NDArray[np.float32]:
        """Vectors of many records: ndarray of shape (n_records, dim), float32, rows unit length."""
        records = values if isinstance(values, Sequence) else list(values)
        n = len(records)
        acc = np.zeros(n * self.dim, dtype=np.float64)
        bag = np.zeros(n * self.dim, dtype=np.float64) if self._bag_weight > 0 else None
        terms = _Terms(acc, bag)
        try:
            for row, value in enumerate(records):
                self._walk(value, row, terms)
            self._add(terms)
        except BaseException:
            self._forget()  # paths may hold ids of pairs that never got their vectors
            raise
        vectors = normalize(acc.reshape(n, self.dim))
        if bag is not None:
            vectors = normalize(vectors + self._bag_weight * normalize(bag.reshape(n, self.dim)))
        return vectors.astype(np.float32)

    # -- the walk -------------------------------------------------------------------------

    def _new_root(self) -> _Path:
        self._paths = 0
        return _Path(SignedPermutation.identity(self.dim), "")

    def _forget(self) -> None:
        """Drop every bound vector: the store and the paths (with their caches) start over.

        Only between records: no path of the old tree may be in use.
        """
        self._store.clear()
        self._root = self._new_root()

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
        terms.ends.append((row, len(terms.ids)))
        if len(terms.ids) >= _MAX_TERMS or terms.waiting_cost >= _MAX_WAITING:
            self._add(terms)

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
        add_id, add_weight = terms.ids.append, terms.weights.append
        # the hot loop: strings and numbers met before cost two dict lookups and two appends
        for key, child in node.items():
            found = keys.get(key)
            if found is None:
                found = self._key_path(path, key)
            kind = type(child)
            if kind is str or kind is float or kind is int:
                bound = found.bound.get(child)
                if bound is None:
                    bound = self._wait(_STRING if kind is str else _NUMBER, found, child, terms)
                add_id(bound)
                add_weight(scale)
            elif (kind is dict or kind is list) and child:
                stack.append((child, scale, found))
            else:
                self._leaf(child, row, scale, found, terms)

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
        children = [
            (keys.get(key) or self._key_path(path, key), child) for key, child in node.items()
        ]
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

    def _leaf(self, value: Any, row: int, weight: float, path: _Path, terms: _Terms) -> None:
        """List one term, whatever the leaf's type."""
        kind = type(value)
        if kind is str:
            key: Any = value
            leaf = _STRING
        elif kind is float or kind is int:
            key, leaf = value, _NUMBER
        elif value is None or kind is bool or kind is dict or kind is list:
            value = constant_name(value)
            key, leaf = _CONSTANT_KEYS[value], _CONSTANT
        else:
            leaf, value = _unusual(value, path.gpath)
            key = _CONSTANT_KEYS[value] if leaf == _CONSTANT else value
        bound = path.bound.get(key)
        if bound is None:
            bound = self._wait(leaf, path, value, terms, key)
        terms.ids.append(bound)
        terms.weights.append(weight)

    def _wait(self, kind: int, path: _Path, value: Any, terms: _Terms, key: Any = None) -> int:
        """A provisional id for a pair met for the first time; its vector comes in _add."""
        waiting = -1 - len(terms.waiting)
        if kind == _STRING:
            terms.waiting_cost += 2 * len(value) + 8
            cached = len(value) <= _LONG_STRING
        else:
            terms.waiting_cost += self._number_cost
            cached = True
        key = value if key is None else key
        terms.waiting.append((kind, path, value, key if cached else None))
        if cached:
            path.bound[key] = waiting
        return waiting

    def _grow(self) -> None:
        self._paths += 1
        if self._paths > _MAX_PATHS:  # forget every cached path; nodes in use stay valid
            self._root = self._new_root()

    def _key_path(self, parent: _Path, key: object) -> _Path:
        if not isinstance(key, str):
            where = f"under {parent.gpath!r}" if parent.gpath else "at the top level"
            raise EncodeError(
                f"{where}: key {key!r} is {type(key).__name__}, but keys must be strings "
                "(as in JSON)"
            )
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
        """Bind the waiting pairs, add every term into ``terms.acc``, clear the terms."""
        if terms.ids:
            resolved = self._bind(terms.waiting)
            n = len(terms.ids)
            ids = np.fromiter(terms.ids, dtype=np.int64, count=n)
            weights = np.fromiter(terms.weights, dtype=np.float64, count=n)
            records, ends = (np.asarray(c, dtype=np.int64) for c in zip(*terms.ends, strict=True))
            rows = np.repeat(records, np.diff(ends, prepend=0))
            waiting = ids < 0
            ids[waiting] = resolved[-1 - ids[waiting]]
            self._scatter(rows, ids, weights, terms)
        terms.clear()
        if self._store.full:
            self._forget()

    def _bind(self, waiting: list[tuple[int, _Path, Any, Any]]) -> Int64Array:
        """Store the bound vectors of the waiting pairs; returns their ids in the store."""
        resolved = np.zeros(len(waiting), dtype=np.int64)
        if not waiting:
            return resolved
        table, leaf_ids = self._leaf_table(waiting)
        for part in self._role_chunks(waiting, table, leaf_ids):
            paths = [waiting[i][1] for i in range(part.start, part.stop)]
            resolved[part] = self._bind_part(paths, table, leaf_ids[part])
        for i, (_, path, _, key) in enumerate(waiting):
            if key is not None:
                path.bound[key] = int(resolved[i])
        return resolved

    def _leaf_table(
        self, waiting: list[tuple[int, _Path, Any, Any]]
    ) -> tuple[LeafTable, Int64Array]:
        """One leaf table for every waiting value, and each pair's row in it."""
        by_kind: list[list[int]] = [[], [], []]
        for i, pair in enumerate(waiting):
            by_kind[pair[0]].append(i)
        leaves = self.codebook.leaves
        tables: list[LeafTable] = []
        leaf_ids = np.zeros(len(waiting), dtype=np.int64)
        offset = 0
        for kind, members in enumerate(by_kind):
            if not members:
                continue
            if kind == _CONSTANT:
                table = self._constants
                ids = [_CONSTANT_IDS[waiting[i][2]] for i in members]
            else:
                unique, ids = _unique([waiting[i][2] for i in members])
                table = leaves.strings(unique) if kind == _STRING else leaves.numbers(unique)
            leaf_ids[members] = np.asarray(ids, dtype=np.int64) + offset
            tables.append(table)
            offset += len(table)
        return _concatenate(tables), leaf_ids

    def _role_chunks(
        self,
        waiting: list[tuple[int, _Path, Any, Any]],
        table: LeafTable,
        leaf_ids: Int64Array,
    ) -> list[slice]:
        """Runs of waiting pairs with at most _MAX_ROLES distinct paths and bounded entries."""
        lengths = table.ptr[leaf_ids + 1] - table.ptr[leaf_ids]
        cuts = [0]
        seen: set[int] = set()
        entries = 0
        for i, (_, path, _, _) in enumerate(waiting):
            if (id(path) not in seen and len(seen) >= _MAX_ROLES) or entries >= _MAX_ENTRIES:
                cuts.append(i)
                seen.clear()
                entries = 0
            seen.add(id(path))
            entries += int(lengths[i])
        cuts.append(len(waiting))
        return [slice(a, b) for a, b in itertools.pairwise(cuts)]

    def _bind_part(self, paths: list[_Path], table: LeafTable, leaf_ids: Int64Array) -> Int64Array:
        slots: dict[int, int] = {}
        roles: list[SignedPermutation] = []
        for path in paths:
            if id(path) not in slots:
                slots[id(path)] = len(roles)
                roles.append(path.role)
        scatter = [role.scatter for role in roles]
        inverse = np.stack([s[0] for s in scatter]).ravel()
        signs = np.stack([s[1] for s in scatter]).ravel()
        slot = np.fromiter((slots[id(p)] for p in paths), dtype=np.int64, count=len(paths))
        entry, lengths = _expand(table.ptr, leaf_ids)
        positions = table.positions[entry]
        values = table.values[entry]
        moved = np.repeat(slot * self.dim, lengths) + positions
        raw = (positions, values) if self._store.raw else None
        return self._store.append(lengths, inverse[moved], values * signs[moved], raw)

    def _scatter(
        self, rows: Int64Array, ids: Int64Array, weights: Float64Array, terms: _Terms
    ) -> None:
        """Add the terms' bound entries, each rounded to a multiple of 2**-32, to acc."""
        store = self._store
        for part in _chunks(store.lengths[ids]):
            entry, lengths = _expand_from(store.starts[ids[part]], store.lengths[ids[part]])
            scaled = np.repeat(weights[part] * _UNIT, lengths)
            base = np.repeat(rows[part] * self.dim, lengths)
            exact = np.rint(store.values[entry] * scaled)
            terms.acc += np.bincount(
                base + store.positions[entry], weights=exact, minlength=len(terms.acc)
            )
            if terms.bag is not None:
                exact = np.rint(store.raw_values[entry] * scaled)
                terms.bag += np.bincount(
                    base + store.raw_positions[entry], weights=exact, minlength=len(terms.bag)
                )


def _expand(ptr: Int64Array, ids: Int64Array) -> tuple[Int64Array, Int64Array]:
    """Indices of the entries of rows ``ids`` of a table with row pointers ``ptr``, in order."""
    starts = ptr[ids]
    return _expand_from(starts, ptr[ids + 1] - starts)


def _expand_from(starts: Int64Array, lengths: Int64Array) -> tuple[Int64Array, Int64Array]:
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    entry = np.arange(total, dtype=np.int64) + np.repeat(starts - ends + lengths, lengths)
    return entry, lengths


def _concatenate(tables: list[LeafTable]) -> LeafTable:
    if len(tables) == 1:
        return tables[0]
    offsets = np.cumsum([0] + [int(t.ptr[-1]) for t in tables[:-1]])
    ptr = np.concatenate(
        [tables[0].ptr[:1]] + [t.ptr[1:] + o for t, o in zip(tables, offsets, strict=True)]
    )
    return LeafTable(
        ptr,
        np.concatenate([t.positions for t in tables]),
        np.concatenate([t.values for t in tables]),
    )


def _unusual(value: Any, where: str) -> tuple[int, Any]:
    """Subclasses of the JSON types (``IntEnum``, ``OrderedDict()``...)."""
    if isinstance(value, bool) or (isinstance(value, dict | list) and not value):
        return _CONSTANT, constant_name(value)
    if isinstance(value, str):
        return _STRING, str(value)
    if isinstance(value, int):
        return _NUMBER, int(value)
    if isinstance(value, float):
        return _NUMBER, float(value)
    place = f"at {where!r}" if where else "at the top level"
    raise EncodeError(f"{place}: cannot encode a value of type {type(value).__name__}")


def _chunks(cost: Int64Array) -> list[slice]:
    """Consecutive slices of the terms whose expanded entries stay near ``_MAX_ENTRIES``."""
    if not len(cost):
        return []
    group = np.cumsum(cost) // _MAX_ENTRIES
    cuts = np.flatnonzero(np.diff(group)) + 1
    bounds = [0, *cuts.tolist(), len(cost)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


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
