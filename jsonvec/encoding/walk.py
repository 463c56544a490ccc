"""The record walk: a JSON value becomes weighted leaves at paths.

``enc({k: v, ...}) = Σ_k Q_k · enc(v) / sqrt(n)``, ``enc([v0, ...]) = Σ_i Q_seq^(i+1) · enc(v_i) /
sqrt(n)``: expanding these, a record is a flat sum of terms ``weight · role · leaf``, one (or two)
per scalar. The walk lists them: the leaf's kind and value, the path node
(:mod:`jsonvec.encoding.path_tree`), the powers of ``Q_seq`` of the ordered arrays it is inside, and
the weight, the product of the ``1/sqrt(n)`` (or field weight) factors on the way down.

The weights are computed in exactly this order of IEEE operations; ``jsonvec/encoding/_core.pyx``
walks records the same way, so both give the same bits.

- an object of ``n`` children: each child gets ``weight / sqrt(n)``; with field weights or
  ignored fields in the codebook, ``weight / total · w_k`` where ``total = sqrt(Σ w_k²)``
  summed one by one in the object's key order (an object whose fields all weigh 0 reads as
  ``{}``);
- an ordered array of ``n``: ``c = weight / sqrt(n)``; an element that is a non-empty object
  or array gets ``c``; a scalar (or an object whose fields are all ignored) gets
  ``o = c / sqrt(1 + β²)`` at its position and ``β · o`` order-free (``array_set_weight`` β;
  with β = 0 only ``c`` at its position);
- an array at a path of ``set_arrays``: every element ``c`` order-free;
- ``true``, ``false``, ``null``, ``{}``, ``[]`` are constant leaves; strings and numbers are
  leaves of their own kind; any other value is an :class:`EncodeError` naming its path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from jsonvec.encoding.leaves import constant_name
from jsonvec.encoding.path_tree import SET, PathNode, PathTree
from jsonvec.errors import EncodeError

STRING, NUMBER, CONSTANT = 0, 1, 2

#: what :func:`walk` calls for each term: (kind, value, node, powers, weight)
Emit = Callable[[int, Any, PathNode, tuple[int, ...], float], None]


def leaf_kind(value: Any, where: str) -> tuple[int, Any]:
    """The kind of a leaf and the value it is encoded from (subclasses become their base)."""
    kind = type(value)
    if kind is str:
        return STRING, value
    if kind is int or kind is float:
        return NUMBER, value
    if value is None or kind is bool or isinstance(value, dict | list):
        return CONSTANT, constant_name(value)
    if isinstance(value, str):
        return STRING, str(value)
    if isinstance(value, int):
        return NUMBER, int(value)
    if isinstance(value, float):
        return NUMBER, float(value)
    place = f"at {where!r}" if where else "at the top level"
    raise EncodeError(f"{place}: cannot encode a value of type {type(value).__name__}")


def _container(value: Any) -> bool:
    return isinstance(value, dict | list) and len(value) > 0


def squared_weights(nodes: Iterable[PathNode]) -> float:
    """``Σ w²`` over the nodes' field weights, added one by one in their order (never
    ``sum()``, which Python 3.12 made compensated: the core adds plainly)."""
    total = 0.0
    for node in nodes:
        total = total + node.weight * node.weight
    return total


def reads_empty(value: Any, at: PathNode, tree: PathTree, weighted: bool) -> bool:
    """Whether ``value`` is an object whose fields are all ignored: it reads as ``{}``."""
    if not weighted or not isinstance(value, dict):
        return False
    return all(tree.key(at, key).weight == 0.0 for key in value)


def walk(value: Any, tree: PathTree, beta: float, weighted: bool, emit: Emit) -> None:
    """Call ``emit`` for every term of ``value`` (see the module docstring).

    ``beta`` is ``array_set_weight``; ``weighted`` says whether the codebook has field
    weights or ignored fields.
    """
    root = math.sqrt(1.0 + beta * beta)
    stack: list[tuple[Any, float, PathNode, tuple[int, ...]]] = [(value, 1.0, tree.root, ())]
    while stack:
        node, weight, path, powers = stack.pop()
        if not _container(node):
            kind, leaf = leaf_kind(node, path.gpath)
            emit(kind, leaf, path, powers, weight)
        elif isinstance(node, dict):
            _object(node, weight, path, powers, tree, weighted, stack, emit)
        else:
            _array(node, weight, path, powers, tree, beta, root, weighted, stack, emit)


def _object(
    node: dict[Any, Any],
    weight: float,
    path: PathNode,
    powers: tuple[int, ...],
    tree: PathTree,
    weighted: bool,
    stack: list[tuple[Any, float, PathNode, tuple[int, ...]]],
    emit: Emit,
) -> None:
    children = [(tree.key(path, key), child) for key, child in node.items()]
    if weighted:
        total = squared_weights(child for child, _ in children)
        if total == 0.0:  # every field ignored: the object reads as {}
            emit(CONSTANT, "{}", path, powers, weight)
            return
        scale = weight / math.sqrt(total)
    else:
        scale = weight / math.sqrt(len(node))
    for child_path, child in children:
        share = scale * child_path.weight if weighted else scale
        if weighted and child_path.weight == 0.0:
            continue
        if _container(child):
            stack.append((child, share, child_path, powers))
        else:
            kind, leaf = leaf_kind(child, child_path.gpath)
            emit(kind, leaf, child_path, powers, share)


def _array(
    node: list[Any],
    weight: float,
    path: PathNode,
    powers: tuple[int, ...],
    tree: PathTree,
    beta: float,
    root: float,
    weighted: bool,
    stack: list[tuple[Any, float, PathNode, tuple[int, ...]]],
    emit: Emit,
) -> None:
    share = weight / math.sqrt(len(node))
    set_item = tree.set_item(path)
    if path.array_kind == SET:
        for element in node:
            if _container(element):
                stack.append((element, share, set_item, powers))
            else:
                kind, leaf = leaf_kind(element, set_item.gpath)
                emit(kind, leaf, set_item, powers, share)
        return
    item = tree.item(path)
    ordered = share / root if beta > 0.0 else share
    copy = beta * ordered
    for index, element in enumerate(node):
        at = (index + 1, *powers)
        if not _container(element):
            kind, leaf = leaf_kind(element, item.gpath)
        elif reads_empty(element, item, tree, weighted):
            kind, leaf = CONSTANT, "{}"
        else:
            stack.append((element, share, item, at))
            continue
        emit(kind, leaf, item, at, ordered)
        if beta > 0.0:
            emit(kind, leaf, set_item, powers, copy)
