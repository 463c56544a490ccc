"""Learning settings from data: ``jsonvec codebook fit``.

What is learnt: a weight per field path from how much its values tell records apart. A field
that holds the same value in every record adds the same vector to all of them, which raises
every similarity and hides the differences that matter; a field whose values are spread out
tells records apart. The weight of a path is ``floor + (1 - floor) · H / log(n)``, where ``H`` is
the entropy of the path's values over the ``n`` records that have it (so 0 for a constant, 1
for all-distinct values). Paths of array elements are pooled (``items[].sku``). Memory stays
bounded: at most ``max_values`` distinct values are counted per path, the rest are counted as
distinct.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from jsonvec.paths import child_path, element_path
from jsonvec.settings import Settings

DEFAULT_FLOOR = 0.25
_MAX_VALUES = 10_000


@dataclass
class PathStats:
    """How often a path occurs and how its values are spread."""

    count: int = 0
    overflow: int = 0
    values: Counter[bytes] = field(default_factory=Counter)

    def add(self, value: Any, max_values: int) -> None:
        self.count += 1
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        if key in self.values or len(self.values) < max_values:
            self.values[key] += 1
        else:
            self.overflow += 1

    def spread(self) -> float:
        """Entropy of the values over its maximum, ``log(count)``: from 0 to 1."""
        if self.count < 2:
            return 1.0
        total = self.count
        entropy = -sum(c / total * math.log(c / total) for c in self.values.values())
        entropy += self.overflow / total * math.log(total)  # each overflow value counted once
        return min(entropy / math.log(total), 1.0)


def field_stats(records: Iterable[Any], max_values: int = _MAX_VALUES) -> dict[str, PathStats]:
    """Statistics of every object field path met in ``records``."""
    stats: dict[str, PathStats] = {}
    for record in records:
        stack: list[tuple[Any, str]] = [(record, "")]
        while stack:
            node, path = stack.pop()
            if isinstance(node, dict):
                for key, child in node.items():
                    child_at = child_path(path, key)
                    stats.setdefault(child_at, PathStats()).add(child, max_values)
                    stack.append((child, child_at))
            elif isinstance(node, list):
                stack.extend((child, element_path(path)) for child in node)
    return stats


def fit_settings(
    records: Iterable[Any], base: Settings | None = None, floor: float = DEFAULT_FLOOR
) -> Settings:
    """``base`` with ``field_weights`` learnt from ``records`` (see the module docstring).

    Weights the user already set in ``base`` are kept.
    """
    base = base or Settings()
    learnt = {
        path: round(floor + (1.0 - floor) * stats.spread(), 4)
        for path, stats in field_stats(records).items()
    }
    weights = {p: w for p, w in learnt.items() if w != 1.0}
    weights.update(base.field_weights)
    return base.replace(field_weights=dict(sorted(weights.items())))
