"""The paths met in records, each with the role that binds the values found at it.

A value at ``a.b.c`` is bound by ``Q_a Q_b Q_c``; an element ``i`` of an ordered array by the
array's role times ``Q_seq^(i+1)``. Composing a table per array position would cost O(dim) per
element and grow with the array, so paths here are *generic*: ``items[].sku`` stands for the
``sku`` of every element. A node holds the product of the fixed roles since the nearest
enclosing ordered array (its ``boundary``) or the root, as a scatter table; the index-dependent
power of ``Q_seq`` is applied between a node and its boundary when a value is bound
(:mod:`jsonvec.encoding.bind`). The tree's size is the records' schema, not their data.

A table is kept in scatter form: the entry at coordinate ``j`` of a vector moves to
``inverse[j]`` and is multiplied by ``signs[j]``. The tree keeps at most ``capacity`` nodes:
past that, new nodes are made for the moment and not kept (``transient`` counts them), and the
tree starts over between records (:meth:`PathTree.trim`). So memory stays bounded on records
with ever new keys, even within one record (an object of 200,000 keys).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.codebook.roles import SignedPermutation
from jsonvec.errors import EncodeError
from jsonvec.records.paths import child_path, element_path, format_path, parse_path

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]

DEFAULT_CAPACITY = 2048
ORDERED, SET = 1, 2


class PathNode:
    """A generic path: its scatter table, its boundary, and what the settings say of it.

    Attributes
    ----------
    gpath : the canonical generic path (``items[].sku``); ``""`` is the root.
    inverse, signs : the scatter table of the roles since ``boundary`` (shape (dim,)).
    boundary : the ordered array this node is inside (innermost), or None.
    depth : the number of ordered arrays above this node (the length of its boundary chain).
    identity : whether the table is the identity (nothing to apply).
    weight : the weight of a value here among its siblings (``field_weights``; 0: ignored).
    array_kind : ``ORDERED`` or ``SET``, for a node holding arrays.
    """

    __slots__ = (
        "array_kind",
        "boundary",
        "children",
        "depth",
        "gpath",
        "identity",
        "inverse",
        "item",
        "set_item",
        "signs",
        "weight",
    )

    def __init__(
        self,
        gpath: str,
        table: tuple[IntArray, FloatArray],
        boundary: PathNode | None,
        identity: bool,
        weight: float,
        array_kind: int,
    ) -> None:
        self.gpath = gpath
        self.inverse, self.signs = table
        self.boundary = boundary
        self.depth: int = 0 if boundary is None else boundary.depth + 1
        self.identity = identity
        self.weight = weight
        self.array_kind = array_kind
        self.children: dict[str, PathNode] = {}
        self.item: PathNode | None = None
        self.set_item: PathNode | None = None

    def chain(self) -> list[PathNode]:
        """The boundaries above this node, innermost first."""
        out = []
        node = self.boundary
        while node is not None:
            out.append(node)
            node = node.boundary
        return out


def compose(
    outer: tuple[IntArray, FloatArray], inner: SignedPermutation
) -> tuple[IntArray, FloatArray]:
    """The scatter table of ``outer · inner`` (``inner`` applied first)."""
    inv, sgn = inner.scatter
    return outer[0][inv], sgn * outer[1][inv]


class PathTree:
    """Generic paths of one codebook, created as records meet them.

    Parameters
    ----------
    codebook : Codebook
    capacity : int
        Nodes kept before the tree starts over (at the next :meth:`trim`).
    node_class : type
        What nodes are made of: :class:`PathNode`, or the compiled core's node, which has the
        same constructor and attributes.
    """

    def __init__(
        self,
        codebook: Codebook,
        capacity: int = DEFAULT_CAPACITY,
        node_class: type[Any] = PathNode,
    ) -> None:
        self.codebook = codebook
        self.node_class = node_class
        self.dim = codebook.dim
        self.capacity = capacity
        settings = codebook.settings
        self.weights = settings.weight_of()
        self.set_arrays = frozenset(format_path(parse_path(p)) for p in settings.set_arrays)
        self.size = 0
        self.transient = 0
        self.root = self._new_root()

    def _new_root(self) -> PathNode:
        self.size = 1
        identity = SignedPermutation.identity(self.dim).scatter
        return self._node("", identity, None, True)

    def _node(
        self,
        gpath: str,
        table: tuple[IntArray, FloatArray],
        boundary: PathNode | None,
        identity: bool,
    ) -> PathNode:
        kind, weight = self.settings_of(gpath)
        node: PathNode = self.node_class(gpath, table, boundary, identity, weight, kind)
        return node

    def settings_of(self, gpath: str) -> tuple[int, float]:
        """What the settings say of the values at ``gpath``: its array kind (``ORDERED`` or
        ``SET``) and its field weight (0: ignored)."""
        return (SET if gpath in self.set_arrays else ORDERED), self.weights.get(gpath, 1.0)

    def trim(self) -> None:
        """Start over if the tree is full; call between records only."""
        if self.size >= self.capacity:
            self.root = self._new_root()
        self.transient = 0

    def key(self, parent: PathNode, key: object) -> PathNode:
        """The node of ``key`` under ``parent``; :class:`EncodeError` if it is no string."""
        if not isinstance(key, str):
            where = f"under {parent.gpath!r}" if parent.gpath else "at the top level"
            raise EncodeError(
                f"{where}: key {key!r} is {type(key).__name__}, but keys must be strings "
                "(as in JSON)"
            )
        found = parent.children.get(key)
        if found is None:
            role = self.codebook.role("key", key)
            table = compose((parent.inverse, parent.signs), role)
            found = self._node(child_path(parent.gpath, key), table, parent.boundary, False)
            if self._keep():
                parent.children[key] = found
        return found

    def item(self, array: PathNode) -> PathNode:
        """The node of every element of the ordered array at ``array``."""
        found = array.item
        if found is None:
            identity = SignedPermutation.identity(self.dim).scatter
            found = array.item = self._node(element_path(array.gpath), identity, array, True)
            self.size += 1  # kept even when full: it lives and dies with its array's node
        return found

    def set_item(self, array: PathNode) -> PathNode:
        """The node of the order-free elements of the array at ``array`` (``Q_set``)."""
        found = array.set_item
        if found is None:
            table = compose((array.inverse, array.signs), self.codebook.role("set"))
            found = self._node(element_path(array.gpath), table, array.boundary, False)
            array.set_item = found
            self.size += 1  # kept even when full: it lives and dies with its array's node
        return found

    def _keep(self) -> bool:
        """Whether a new node is kept, or made for the moment (the tree is full)."""
        if self.size < self.capacity:
            self.size += 1
            return True
        self.transient += 1
        return False
