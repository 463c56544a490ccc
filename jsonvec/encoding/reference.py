"""The reference encoder, in Python and numpy: the algorithm of ``jsonvec/encoding/_core.pyx``,
slower.

A batch of records is encoded in four steps, each in its own module:

1. :mod:`jsonvec.encoding.walk` lists each record's terms (leaf, path node, powers of ``Q_seq``,
   weight) into a buffer;
2. :mod:`jsonvec.encoding.leaves` builds the sparse entries of the buffer's leaves, all strings (and
   all numbers) of the buffer in a few numpy passes, each distinct value once;
3. :mod:`jsonvec.encoding.bind` moves the entries by their roles, node by node;
4. :mod:`jsonvec.encoding.accumulate` adds them, exactly, into the records' vectors and normalises.

The buffer is emptied every ``_MAX_TERMS`` terms, and whenever it holds more than
``_MAX_TRANSIENT`` path nodes that the tree did not keep, so memory stays bounded whatever
the size of a record. The compiled core gives the same bits (tested on every corpus).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.encoding.accumulate import add, finish
from jsonvec.encoding.bind import SeqPowers, bind
from jsonvec.encoding.leaves import CONSTANTS, LeafCoder, LeafTable
from jsonvec.encoding.path_tree import PathNode, PathTree
from jsonvec.encoding.walk import CONSTANT, STRING, walk

Int64Array = NDArray[np.int64]

_MAX_TERMS = 1 << 16  # terms gathered before their entries are built and added
_MAX_TRANSIENT = 64  # path nodes the tree did not keep, held by the buffer at most
_CONSTANT_IDS = {name: i for i, name in enumerate(CONSTANTS)}


class _Terms:
    """The buffer of terms: columns, plus the nodes' groups."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.kinds: list[int] = []
        self.values: list[Any] = []
        self.weights: list[float] = []
        self.powers: list[tuple[int, ...]] = []
        self.nodes: dict[int, tuple[PathNode, list[int]]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def clear(self) -> None:
        """Empty the buffer (after its terms were added)."""
        for column in (self.rows, self.kinds, self.values, self.weights, self.powers):
            column.clear()
        self.nodes.clear()


class ReferenceEncoder:
    """Encodes batches of JSON values with one codebook (see the module docstring).

    Safe to call from several threads at once, as the core is: each call has its own buffers,
    and the path tree they share only gains nodes, or is replaced whole, under the GIL (a
    thread that still walks the old tree finishes on it; tests/encoding/test_encoder.py).
    """

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.dim = codebook.dim
        settings = codebook.settings
        self.tree = PathTree(codebook)
        self.steps = SeqPowers.of(codebook.role("seq"))
        self.beta = settings.array_set_weight
        self.weighted = bool(settings.weight_of())
        self.bag_weight = settings.leaf_bag_weight
        self.coder = LeafCoder.of(codebook)
        self.constants = self.coder.constants(CONSTANTS)

    def encode_batch(self, values: Sequence[Any]) -> NDArray[np.float32]:
        """Vectors of ``values``: (n_records, dim) float32, rows unit length."""
        n = len(values)
        acc = np.zeros(n * self.dim, dtype=np.float64)
        bag = np.zeros(n * self.dim, dtype=np.float64) if self.bag_weight > 0 else None
        terms = _Terms()
        transient = self.tree.transient

        for row, value in enumerate(values):

            def emit(
                kind: int,
                leaf: Any,
                node: PathNode,
                powers: tuple[int, ...],
                weight: float,
                row: int = row,
            ) -> None:
                nonlocal transient
                terms.rows.append(row)
                terms.kinds.append(kind)
                terms.values.append(leaf)
                terms.weights.append(weight)
                terms.powers.append(powers)
                group = terms.nodes.get(id(node))
                if group is None:
                    group = terms.nodes[id(node)] = (node, [])
                group[1].append(len(terms.rows) - 1)
                if len(terms) >= _MAX_TERMS or self.tree.transient - transient > _MAX_TRANSIENT:
                    self._flush(terms, acc, bag)
                    terms.clear()
                    transient = self.tree.transient

            walk(value, self.tree, self.beta, self.weighted, emit)
            self.tree.trim()
            transient = self.tree.transient
        self._flush(terms, acc, bag)
        return finish(acc, bag, self.bag_weight, n, self.dim)

    def _flush(
        self, terms: _Terms, acc: NDArray[np.float64], bag: NDArray[np.float64] | None
    ) -> None:
        """Build, bind and add the entries of every term in the buffer."""
        if not len(terms):
            return
        table, leaf_ids = self._leaves(terms)
        rows = np.asarray(terms.rows, dtype=np.int64) * self.dim
        weights = np.asarray(terms.weights, dtype=np.float64)
        slots: list[Int64Array] = []
        exact: list[NDArray[np.float64]] = []
        scales: list[NDArray[np.float64]] = []
        for node, members in terms.nodes.values():
            index = np.asarray(members, dtype=np.int64)
            entry, lengths = _expand(table.ptr, leaf_ids[index])
            powers = np.asarray([terms.powers[i] for i in members], dtype=np.int64)
            powers = np.repeat(powers.reshape(len(members), node.depth), lengths, axis=0)
            positions, values = bind(
                node, table.positions[entry], table.values[entry], powers, self.steps
            )
            base = np.repeat(rows[index], lengths)
            slots.append(base + positions)
            exact.append(values)
            scales.append(np.repeat(weights[index], lengths))
            if bag is not None:
                add(bag, base + table.positions[entry], table.values[entry], scales[-1])
        add(acc, np.concatenate(slots), np.concatenate(exact), np.concatenate(scales))

    def _leaves(self, terms: _Terms) -> tuple[LeafTable, Int64Array]:
        """One leaf table for the buffer's values (each distinct value once), and each term's
        row in it."""
        by_kind: list[list[int]] = [[], [], []]
        for i, kind in enumerate(terms.kinds):
            by_kind[kind].append(i)
        coder = self.coder
        tables: list[LeafTable] = []
        leaf_ids = np.zeros(len(terms), dtype=np.int64)
        offset = 0
        for kind, members in enumerate(by_kind):
            if not members:
                continue
            if kind == CONSTANT:
                table = self.constants
                ids = [_CONSTANT_IDS[terms.values[i]] for i in members]
            else:
                unique, ids = _unique([terms.values[i] for i in members])
                table = coder.strings(unique) if kind == STRING else coder.numbers(unique)
            leaf_ids[members] = np.asarray(ids, dtype=np.int64) + offset
            tables.append(table)
            offset += len(table)
        return _concatenate(tables), leaf_ids


def _expand(ptr: Int64Array, ids: Int64Array) -> tuple[Int64Array, Int64Array]:
    """Indices of the entries of rows ``ids`` of a table with row pointers ``ptr``, in order,
    and each row's number of entries."""
    starts = ptr[ids]
    lengths = ptr[ids + 1] - starts
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


def _unique(values: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Distinct values in order of first appearance, and each value's index among them."""
    index: dict[Any, int] = {}
    ids = [index.setdefault(v, len(index)) for v in values]
    return list(index), ids
