"""Search results as hits: ids, scores and ranks, for JSON output or a table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.collection import Collection

_SCORE_DIGITS = 6
_RECORD_WIDTH = 60


@dataclass(frozen=True)
class Hit:
    """One result: the ``query`` it answers (0-based), its ``rank`` (1-based) and the row."""

    query: int
    rank: int
    row: int
    id: Any
    score: float
    record: Any = None

    def as_json(self, *, several: bool, records: bool) -> dict[str, Any]:
        """The hit as printed by ``jsonvec similar``."""
        out: dict[str, Any] = {"id": self.id, "score": self.score, "rank": self.rank}
        if several:
            out["query"] = self.query
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
) -> list[Hit]:
    """Turn ``(rows, scores)`` of shape (n_queries, k) into hits, query by query.

    Drops missing places (row -1), the ``exclude`` row, scores under ``threshold``; keeps at
    most ``number`` per query; looks up ids (and records) only for the hits kept.
    """
    kept: list[tuple[int, int, int, float]] = []
    for query in range(rows.shape[0]):
        rank = 0
        for row, score in zip(rows[query].tolist(), scores[query].tolist(), strict=True):
            if row < 0 or row == exclude or (threshold is not None and score < threshold):
                continue
            rank += 1
            kept.append((query, rank, row, round(score, _SCORE_DIGITS)))
            if rank == number:
                break
    wanted = [row for _, _, row, _ in kept]
    ids = collection.ids(wanted)
    texts = collection.records(wanted) if records else [None] * len(wanted)
    return [
        Hit(query, rank, row, rid, score, text)
        for (query, rank, row, score), rid, text in zip(kept, ids, texts, strict=True)
    ]


def format_plain(hits: list[Hit], *, several: bool, records: bool) -> list[str]:
    """An aligned table of hits, with a header line."""
    header = (["query"] if several else []) + ["rank", "score", "id"]
    header += ["record"] if records else []
    rows = []
    for hit in hits:
        cells = ([str(hit.query)] if several else []) + [str(hit.rank), f"{hit.score:.4f}"]
        cells.append(str(hit.id))
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
