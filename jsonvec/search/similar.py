"""A search as ``jsonvec similar`` makes it, for the command line and :class:`Vectors` alike:
filtered by ``where`` conditions, scored field by field or by cosine, through an index or
exactly, with what a person should be told about the hits (a filter read back from the
vectors, query paths no stored record holds, best hits that score no higher than unrelated
records can, why a query found nothing) given as data, for the caller to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec._utils import arguments
from jsonvec.codebook.codebook import Codebook
from jsonvec.errors import ArgumentError, ProbeError, UsageError, WhereError
from jsonvec.records.paths import parse_path
from jsonvec.search.exact import CollectionSearch, Searcher, noise_ceiling
from jsonvec.search.field_search import Filter, Found, search_by_field, search_filtered, where_mask
from jsonvec.search.hits import Hit, collect_hits
from jsonvec.search.where import Condition
from jsonvec.storage.collection import Collection


@dataclass
class Results:
    """The hits of a search, and what to tell about them.

    Attributes
    ----------
    hits : every query's hits, query after query, best first (``hit.query`` says whose).
    queries : how many queries were asked.
    notes : how the search was made, to show before the hits (a filter decoded from the
        vectors, with how many records it kept).
    warnings : what may be wrong with the hits, to show after them (a query path that no
        stored record holds; best hits no higher than unrelated records can score).
    why_none : why some query has no hits, or None when every query has some.
    """

    hits: list[Hit]
    queries: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    why_none: str | None = None


class HitLists(list[list[Hit]]):
    """One list of hits per query, best first (what :meth:`jsonvec.Vectors.search` returns),
    and ``warnings``: what a person should be told about them, in words (a filter read back
    from the vectors, a query path that no stored record holds, best hits no higher than
    unrelated records can score, why a query found nothing); empty when all is well.

    Examples
    --------
    >>> import pathlib, tempfile, jsonvec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = '{"id": "a", "city": "Paris"}\\n{"id": "b", "city": "Lyon"}\\n'
    >>> _ = (folder / "in.jsonl").write_text(rows)
    >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.parquet", id_field="id")
    >>> hits = jsonvec.load(folder / "v.parquet").search({"city": "Rome"}, where={"city": "Oslo"})
    >>> hits, hits.warnings
    ([[]], ['--where read from the vectors (no stored records): ...', 'no hits: ...'])
    """

    def __init__(self, lists: Iterable[list[Hit]] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(lists)
        self.warnings = list(warnings)

    @classmethod
    def of(cls, results: Results) -> HitLists:
        """The hits of ``results`` grouped by query, with every word about them."""
        lists: list[list[Hit]] = [[] for _ in range(results.queries)]
        for hit in results.hits:
            lists[hit.query].append(hit)
        why_none = [] if results.why_none is None else [results.why_none]
        return cls(lists, [*results.notes, *results.warnings, *why_none])


def conditions(where: Mapping[str, Any] | Sequence[str] | None) -> list[Condition]:
    """Conditions from ``{path: value}`` or ``PATH=VALUE`` texts (as ``--where`` takes them).

    >>> [str(c) for c in conditions({"city": "Paris"})], conditions(["age=31"])[0].value
    (['city="Paris"'], 31)
    """
    if where is None:
        return []
    if isinstance(where, Mapping):
        return [
            Condition(parse_path(arguments.text(path, "a path of where")), value)
            for path, value in where.items()
        ]
    if not isinstance(where, list | tuple) or not all(isinstance(t, str) for t in where):
        raise ArgumentError(
            "where must be a dict of path to value or a list of PATH=VALUE texts, "
            f"not {arguments.kind(where)}"
        )
    return [Condition.parse(text) for text in where]


def find(
    collection: Collection,
    queries: NDArray[np.float32],
    k: int,
    *,
    codebook: Codebook | None = None,
    by_field: Sequence[Any] | None = None,
    where: Sequence[Condition] = (),
    searcher: Searcher | None = None,
    exclude: int | None = None,
    threshold: float | None = None,
    records: bool = False,
    labels: Sequence[int] | None = None,
) -> Results:
    """The best ``k`` rows of ``collection`` for each of ``queries`` (shape (n, dim)).

    ``by_field`` (the query records, one per query vector) ranks by field scores, ties broken
    by cosine; ``where`` keeps only the records that hold every condition (decoded from the
    vectors when no records were stored); ``searcher`` (an ANN index, a cluster) serves a
    plain search, exact otherwise. ``exclude`` (a row) is left out of every query's hits,
    as are hits under ``threshold``; ``records`` adds each hit's stored record; ``labels``
    name the queries in their hits (default 0, 1, ...). ``codebook`` decodes conditions from
    vectors that keep no records (default: the one the vectors name).

    Raises :class:`~jsonvec.errors.UsageError` for a field search without stored records,
    or a filtered or field search through a ``searcher``, and
    :class:`~jsonvec.errors.WhereError` for a condition that cannot be read back from the
    vectors.
    """
    _check(collection, by_field is not None, bool(where), searcher)
    notes: list[str] = []
    allowed = None
    extra = 0 if exclude is None else 1  # the excluded row may take a place
    if where:
        kept = _where(collection, where, codebook, notes)
        allowed = kept.allowed
        found = _scored(collection, by_field, queries, k + extra, allowed)
        found.warnings[:0] = kept.warnings
    elif by_field is not None:
        found = search_by_field(collection, list(by_field), queries, k + extra)
    else:
        rows, scores = CollectionSearch(collection, searcher).search(queries, k + extra)
        found = Found(rows, scores)
    hits = collect_hits(collection, found.rows, found.scores, k, threshold, exclude, records,
                        labels)  # fmt: skip
    results = Results(hits, len(queries), notes, found.warnings)
    if hits and not (where or by_field is not None or exclude is not None):
        results.warnings += low_scores(found.scores, collection)
    if len({hit.query for hit in hits}) < len(queries):
        results.why_none = _why_none(results, collection, exclude, threshold, allowed)
    return results


def _check(collection: Collection, by_field: bool, where: bool, searcher: Searcher | None) -> None:
    if by_field and not collection.has_records:
        raise UsageError("--by-field needs vectors written with encode --keep-records")
    if searcher is not None and (by_field or where):
        raise UsageError(
            "a search --by-field or --where reads every stored record: it takes no index"
        )


def _where(
    collection: Collection,
    where: Sequence[Condition],
    codebook: Codebook | None,
    notes: list[str],
) -> Filter:
    """Rows that hold every condition: exactly from stored records, else decoded."""
    try:
        kept = where_mask(collection, where, codebook or collection.query_codebook())
    except ProbeError as exc:
        raise WhereError(str(exc)) from exc
    if kept.decoded:
        notes.append(
            "--where read from the vectors (no stored records): a record counts as holding a "
            f"value when it decodes to it (kept {int(kept.allowed.sum()):,} of "
            f"{collection.count:,}); encode --keep-records makes it exact"
        )
    return kept


def _scored(
    collection: Collection,
    by_field: Sequence[Any] | None,
    queries: NDArray[np.float32],
    k: int,
    allowed: NDArray[np.bool_],
) -> Found:
    if by_field is not None:
        return search_by_field(collection, list(by_field), queries, k, allowed)
    return search_filtered(collection, queries, k, allowed)


def low_scores(scores: NDArray[np.float32], collection: Collection) -> list[str]:
    """A warning when best hits do not stand above what unrelated records can score."""
    ceiling = noise_ceiling(collection.count, collection.dim)
    best = scores[:, 0] if scores.shape[1] else np.zeros(0, dtype=np.float32)
    low = int(np.sum(best < ceiling))
    if not low:
        return []
    which = (
        f"the best hits of {low:,} of {len(best):,} queries score"
        if len(best) > 1
        else f"the best hit scores {float(best[0]):.3f},"
    )
    remedy = (
        "--by-field scores the stored records field by field"
        if collection.has_records
        else "--by-field scores stored records field by field (encode --keep-records)"
    )
    return [
        f"{which} under {ceiling:.3f}, what unrelated records can reach among "
        f"{collection.count:,} of dim {collection.dim}: a hit may not hold the query's values "
        f"(on records of many fields one field carries little of a vector); {remedy}"
    ]


def _why_none(
    results: Results,
    collection: Collection,
    exclude: int | None,
    threshold: float | None,
    allowed: NDArray[np.bool_] | None,
) -> str:
    """Why some query found nothing, in one line."""
    if allowed is not None and not allowed.any():
        reason = "no record passes every --where condition"
    elif exclude is not None and collection.count == 1:
        reason = "the vectors hold one record, the query's own (--id leaves it out of its hits)"
    elif threshold is not None:
        reason = f"no record scores at least --threshold {threshold:g}"
    else:
        reason = "no record is left to rank"
    queries = results.queries
    empty = queries - len({hit.query for hit in results.hits})
    which = "no hits" if queries == 1 else f"no hits for {empty:,} of {queries:,} queries"
    return f"{which}: {reason}"
