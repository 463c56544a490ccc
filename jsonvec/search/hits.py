"""Search results as hits: ids, scores and ranks, for JSON output or a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.storage.collection import Collection

_SCORE_DIGITS = 6
_RECORD_WIDTH = 60


@dataclass(frozen=True)
class Hit:
    """One result: the ``query`` it answers, its ``rank`` (1-based) and the row.

    ``query`` is the query's label (``similar -i`` uses its line number); ``source`` the
    vectors file the row comes from, when the collection has several.

    Examples
    --------
    >>> hit = Hit(query=0, rank=1, row=4, id="p04", score=0.93)
    >>> hit.as_json(several=False, records=False)
    {'id': 'p04', 'score': 0.93, 'rank': 1}
    """

    query: int
    rank: int
    row: int
    id: Any
    score: float
    record: Any = None
    source: str | None = None

    def as_json(self, *, several: bool, records: bool) -> dict[str, Any]:
        """The hit as printed by ``jsonvec similar``."""
        out: dict[str, Any] = {"id": self.id, "score": self.score, "rank": self.rank}
        if several:
            out["query"] = self.query
        if self.source is not None:
            out["source"] = self.source
        if records:
            out["record"] = self.record
        return out


def collect_hits(
    collection: Collection,
    rows: NDArray[np.int64],
    scores: NDArray[np.float32],
    number: int,
    threshold: float | None = None,
    exclude: int | None = None,
    records: bool = False,
    labels: Sequence[int] | None = None,
) -> list[Hit]:
    """Turn ``(rows, scores)`` of shape (n_queries, k) into hits, query by query.

    Drops missing places (row -1), the ``exclude`` row, scores under ``threshold``; keeps at
    most ``number`` per query; looks up ids (and records) only for the hits kept. Queries
    are labelled by ``labels`` (default: 0, 1, ...); hits name their file when the
    collection has several.
    """
    kept: list[tuple[int, int, int, float]] = []
    for query in range(rows.shape[0]):
        rank = 0
        for row, score in zip(rows[query].tolist(), scores[query].tolist(), strict=True):
            if row < 0 or row == exclude or (threshold is not None and score < threshold):
                continue
            rank += 1
            label = query if labels is None else labels[query]
            kept.append((label, rank, row, round(score, _SCORE_DIGITS)))
            if rank == number:
                break
    wanted = [row for _, _, row, _ in kept]
    ids = collection.ids(wanted)
    texts = collection.records(wanted) if records else [None] * len(wanted)
    several = len(collection.files) > 1
    sources = collection.sources(wanted) if several else [None] * len(wanted)
    return [
        Hit(query, rank, row, rid, score, text, source)
        for (query, rank, row, score), rid, text, source in zip(
            kept, ids, texts, sources, strict=True
        )
    ]


def format_plain(hits: list[Hit], *, several: bool, records: bool) -> list[str]:
    """An aligned table of hits, with a header line."""
    sources = any(hit.source is not None for hit in hits)
    header = (["query"] if several else []) + ["rank", "score", "id"]
    header += (["source"] if sources else []) + (["record"] if records else [])
    rows = []
    for hit in hits:
        cells = ([str(hit.query)] if several else []) + [str(hit.rank), f"{hit.score:.4f}"]
        cells.append(str(hit.id))
        if sources:
            cells.append(str(hit.source))
        if records:
            text = orjson.dumps(hit.record).decode()
            cells.append(text if len(text) <= _RECORD_WIDTH else text[: _RECORD_WIDTH - 1] + "…")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {"query", "rank", "score"}
    return [
        "  ".join(
            cell.rjust(width) if name in numeric else cell.ljust(width)
            for name, cell, width in zip(header, cells, widths, strict=True)
        ).rstrip()
        for cells in [header, *rows]
    ]
