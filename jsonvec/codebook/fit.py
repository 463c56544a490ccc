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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.codebook.settings import Settings
from jsonvec.errors import InputError, InvalidLineError
from jsonvec.records.paths import child_path, element_path
from jsonvec.records.reader import display_name, parse_line, read_lines

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


@dataclass
class FitSummary:
    """What :func:`fit_codebook` read: records learnt from, invalid lines skipped."""

    records: int = 0
    invalid: int = 0


def fit_codebook(
    inputs: Sequence[str],
    *,
    base: Codebook | None = None,
    dim: int | None = None,
    seed: int | None = None,
    skip_invalid: bool = False,
    input_format: str | None = None,
) -> tuple[Codebook, FitSummary]:
    """A codebook whose field weights are learnt from the records of ``inputs`` (``jsonvec
    codebook fit``): ``base``'s settings (default: the built-in codebook's), its dim and seed
    unless ``dim`` or ``seed`` are given.

    Raises
    ------
    CodebookError
        For a dim or seed out of range (before any record is read).
    InvalidLineError
        At the first invalid record, unless ``skip_invalid``.
    InputError
        When no record could be read.
    """
    base = base or default_codebook()
    dim = base.dim if dim is None else dim
    seed = base.seed if seed is None else seed
    Codebook(dim=dim, seed=seed)  # a bad dim or seed is refused before the data is read
    summary = FitSummary()
    settings = fit_settings(_records(inputs, skip_invalid, input_format, summary), base.settings)
    if summary.records == 0:
        raise InputError(
            f"{', '.join(display_name(i) for i in inputs)}: no records to learn from "
            "(the input is empty or every line was invalid); no codebook written"
        )
    return Codebook(dim=dim, seed=seed, settings=settings, family=base.family), summary


def _records(
    inputs: Sequence[str], skip_invalid: bool, fmt: str | None, summary: FitSummary
) -> Iterator[Any]:
    for line in read_lines(inputs, fmt=fmt):
        if line.is_blank:
            continue
        try:
            record = parse_line(line)
        except InvalidLineError:
            if not skip_invalid:
                raise
            summary.invalid += 1
            continue
        summary.records += 1
        yield record
