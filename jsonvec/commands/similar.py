"""``jsonvec similar``: the records nearest to an example, an id, or a partial record."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import Any

import click
import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.commands.common import (
    VECTORS_CODEBOOK_HELP,
    InputPath,
    codebook_option,
    echo_json,
    echo_lines,
    engine_options,
    input_format_option,
    notice,
    number_option,
    plain_option,
    quiet_option,
    threshold_option,
    vectors_codebook,
    warn,
)
from jsonvec.encoding.encoder import Encoder
from jsonvec.errors import PathError, ProbeError, WhereError
from jsonvec.records.reader import STDIN
from jsonvec.search.ann import AnnIndex, meta_path
from jsonvec.search.exact import CollectionSearch, Searcher, noise_ceiling
from jsonvec.search.field_search import Filter, Found, search_by_field, search_filtered, where_mask
from jsonvec.search.hits import Hit, collect_hits, format_plain
from jsonvec.search.queries import check_one_query, parse_query, read_queries, split_arguments
from jsonvec.search.where import Condition
from jsonvec.storage.collection import Collection
from jsonvec.storage.guard import Named, check_files, reads


@click.command()
@click.argument("args", nargs=-1, metavar="VECTORS... [QUERY]")
@click.option("--query", "query_json", metavar="JSON", help="The query as JSON (no guessing).")
@click.option(
    "-i",
    "--input",
    "query_file",
    type=InputPath(),
    metavar="FILE",
    help="Queries from FILE (JSON Lines, or a .json document), or - for stdin.",
)
@click.option("--id", "query_id", metavar="ID", help="Use the stored vector of this record.")
@number_option(10, "Hits per query.")
@codebook_option(VECTORS_CODEBOOK_HELP)
@threshold_option
@click.option("--records", is_flag=True, help="Add each hit's record (encode --keep-records).")
@plain_option
@click.option(
    "--by-field",
    is_flag=True,
    help="Score records field by field against the query's values, from the stored records "
    "(encode --keep-records): for partial queries on wide records, typos included.",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="PATH=VALUE",
    help="Keep records that hold VALUE at PATH (repeatable; VALUE is JSON when it parses: "
    "age=31, ok=true, else text: city=Paris). Exact with stored records (encode "
    "--keep-records), decoded from the vectors otherwise.",
)
@click.option(
    "--index", "index_path", type=InputPath(), metavar="INDEX", help="Search through an ANN index."
)
@click.option(
    "--ef",
    type=click.IntRange(1),
    metavar="EF",
    help="With --index: search breadth [default: 64]; higher finds more of the true "
    "neighbours, slower.",
)
@engine_options(
    "exact search, file by file, for collections larger than this machine (the same hits),"
)
@input_format_option
@quiet_option
def similar(
    args: tuple[str, ...],
    query_json: str | None,
    query_file: str | None,
    query_id: str | None,
    number: int,
    codebook_path: str | None,
    threshold: float | None,
    records: bool,
    plain: bool,
    by_field: bool,
    where: tuple[str, ...],
    index_path: str | None,
    ef: int | None,
    engine: str,
    scheduler: str | None,
    input_format: str | None,
    quiet: bool,
) -> None:
    """Find the records nearest to an example, a partial record, or a stored id.

    VECTORS are outputs of `jsonvec encode` (.parquet, .npy with its sidecars, .jsonl),
    folders of them (their .parquet and .npy files) or glob patterns. The last argument is
    the QUERY when it is JSON (any JSON value, of any length, never looked up as a file:
    name a file called 42 ./42); every other argument names VECTORS, and one that names
    nothing is an error. --query JSON gives the query without guessing. Or: -i FILE (JSON
    Lines or a .json document, - for stdin: one result list per query, each hit tagged with
    "query", its line number), or --id (the stored vector of that record, which is left out
    of its own hits). Give exactly one.

    The codebook is read from the vectors' metadata; --codebook may name it, and must then
    be the same (also with --id).

    Prints one JSON object per hit, best first: {"id", "score", "rank"}, and "source", the
    file of the hit, when VECTORS are several files. Scores are cosine similarities: 1.0
    for the same content. A partial query such as '{"city": "Paris"}' ranks first the
    records that hold that value; a record of n fields that contains all m fields of the
    query scores about sqrt(m/n). A search with no hits says why on stderr.

    On wide records (many fields) one field carries little of a record's vector, and a
    partial query, above all a mistyped one, may miss its holder. --by-field scores every
    stored record (encode --keep-records) field by field instead: the mean over the query's
    fields of how well the record's value at the same path matches (1.0 the same value and
    only then, so an exact id ranks above every near one; strings by edit distance, so one
    wrong letter of eight scores 0.875; numbers by relative difference; an array in the
    query matches an element in any position), ties broken by the vectors' cosine. A query
    path that no stored record holds is a warning naming the nearest paths that do; so is a
    --where value of another type than the values stored at its path.

    Example:

    \b
        jsonvec similar people.parquet '{"city": "Paris", "age": 34}'
        jsonvec similar daily/ --id 4711 -n 5 --plain
        jsonvec similar people.parquet -i queries.jsonl --records
        jsonvec similar 'daily/*.parquet' --query '"a bare string as the query"'
        jsonvec similar countries.parquet --by-field '{"name": {"common": "Germny"}}'
        jsonvec similar people.parquet '{"name": "Ann"}' --where city=Paris --where age=34
        jsonvec similar lake-vectors/ '{"user": "ann"}' --engine dask --scheduler tcp://s:8786
    """
    given = (query_json, query_file, query_id)
    vectors, inline = split_arguments(args)
    check_one_query((inline, *given))
    if ef is not None and index_path is None:
        raise click.UsageError("--ef needs --index (exact search has no breadth to set)")
    _check_engine(engine, scheduler, by_field=by_field, where=bool(where), index=index_path)
    conditions = _conditions(where, index_path)
    collection = Collection.open(vectors)
    _guard(collection, codebook_path, query_file, index_path)
    if records and not collection.has_records:
        raise click.UsageError("--records needs vectors written with encode --keep-records")
    if by_field:
        _check_by_field(collection, query_id, index_path)
    # a codebook given is checked whatever the query (with --id, none is needed)
    book = vectors_codebook(collection, codebook_path, queries=query_id is None)
    exclude: int | None = None
    labels: list[int] | None = None
    values: list[Any] = []
    if query_id is not None:
        exclude = collection.find(query_id)
        queries = collection.vector(exclude)[None, :]
    else:
        values, labels = _queries(inline, query_json, query_file, input_format)
        queries = Encoder(book).encode_batch(values)
    if collection.count == 0:
        notice("jsonvec: the vectors hold no records")
        return
    ann = AnnIndex(collection, index_path, ef or 64) if index_path is not None else None
    extra = 1 if exclude is not None else 0
    found, allowed = _search(collection, book, conditions, values if by_field else None,
                             queries, number + extra, ann, engine, scheduler)  # fmt: skip
    several = query_file is not None
    hits = collect_hits(collection, found.rows, found.scores, number, threshold, exclude,
                        records, labels)  # fmt: skip
    _print(hits, several=several, plain=plain, records=records)
    # after the hits, and only when they were written
    for warning in found.warnings:
        warn(warning)
    if hits and not (conditions or by_field or query_id is not None):
        _noise_warning(found.scores, collection)
    if len({hit.query for hit in hits}) < len(queries):
        _say_why_none(hits, len(queries), collection, exclude, threshold, allowed)


def _queries(
    inline: str | None, query_json: str | None, query_file: str | None, fmt: str | None
) -> tuple[list[Any], list[int] | None]:
    """The queries' values, and their line numbers for -i FILE."""
    if query_file is not None:
        return read_queries(STDIN if query_file == "-" else query_file, fmt)
    if query_json is not None:
        return [parse_query(query_json, "--query")], None
    return [parse_query(inline or "")], None


def _guard(
    collection: Collection, codebook: str | None, query_file: str | None, index: str | None
) -> None:
    """What a search reads is not where it writes: stdout redirected into a vectors file
    (``>> v.jsonl``) is refused (:mod:`jsonvec.storage.guard`)."""
    read = collection.read_files() + reads([codebook] if codebook else [], "codebook")
    read += reads([query_file] if query_file else [], "queries file")
    read += reads([index, meta_path(index)] if index else [], "index")
    check_files(read, [Named("output", "-")])


def _search(
    collection: Collection,
    book: Codebook,
    conditions: list[Condition],
    by_field: list[Any] | None,
    queries: NDArray[np.float32],
    k: int,
    ann: Searcher | None,
    engine: str,
    scheduler: str | None,
) -> tuple[Found, NDArray[np.bool_] | None]:
    """The rows and scores of each query's best ``k``, and the rows ``--where`` allowed."""
    allowed = None
    if conditions:
        kept = _where_mask(collection, conditions, book)
        allowed = kept.allowed
        if by_field is not None:
            found = search_by_field(collection, by_field, queries, k, allowed)
        else:
            found = search_filtered(collection, queries, k, allowed)
        found.warnings[:0] = kept.warnings
        return found, allowed
    if by_field is not None:
        return search_by_field(collection, by_field, queries, k), None
    with _searcher(collection, ann, engine, scheduler) as searcher:
        rows, scores = CollectionSearch(collection, searcher).search(queries, k)
    return Found(rows, scores), None


def _check_engine(
    engine: str, scheduler: str | None, *, by_field: bool, where: bool, index: str | None
) -> None:
    if engine != "dask":
        if scheduler is not None:
            raise click.UsageError("--scheduler needs --engine dask")
        return
    given = {"--by-field": by_field, "--where": where, "--index": index is not None}
    for name, used in given.items():
        if used:
            raise click.UsageError(f"{name} does not work with --engine dask (yet)")
    if importlib.util.find_spec("distributed") is None:
        raise click.UsageError("--engine dask needs the 'dask' extra: pip install 'jsonvec[dask]'")


@contextlib.contextmanager
def _searcher(
    collection: Collection, ann: Searcher | None, engine: str, scheduler: str | None
) -> Iterator[Searcher | None]:
    """The ANN index, a search on a Dask cluster, or None (exact search here)."""
    if engine != "dask":
        yield ann
        return
    from jsonvec.dask import ClusterSearch, connect  # noqa: PLC0415 - the extra

    with connect(scheduler) as client:
        yield ClusterSearch(collection, client)


def _check_by_field(collection: Collection, query_id: str | None, index_path: str | None) -> None:
    if not collection.has_records:
        raise click.UsageError("--by-field needs vectors written with encode --keep-records")
    if query_id is not None:
        raise click.UsageError("--by-field scores a query's fields: give a query, not --id")
    if index_path is not None:
        raise click.UsageError("--by-field scores every stored record: it takes no --index")


def _noise_warning(scores: NDArray[np.float32], collection: Collection) -> None:
    """Warn when best hits do not stand above what unrelated records score."""
    ceiling = noise_ceiling(collection.count, collection.dim)
    best = scores[:, 0] if scores.shape[1] else np.zeros(0, dtype=np.float32)
    low = int(np.sum(best < ceiling))
    if not low:
        return
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
    warn(
        f"{which} under {ceiling:.3f}, what unrelated records can reach among "
        f"{collection.count:,} of dim {collection.dim}: a hit may not hold the query's values "
        f"(on records of many fields one field carries little of a vector); {remedy}"
    )


def _say_why_none(
    hits: list[Hit],
    queries: int,
    collection: Collection,
    exclude: int | None,
    threshold: float | None,
    allowed: NDArray[np.bool_] | None,
) -> None:
    """A search that found nothing for some query says why, instead of printing nothing."""
    if allowed is not None and not allowed.any():
        reason = "no record passes every --where condition"
    elif exclude is not None and collection.count == 1:
        reason = "the vectors hold one record, the query's own (--id leaves it out of its hits)"
    elif threshold is not None:
        reason = f"no record scores at least --threshold {threshold:g}"
    else:
        reason = "no record is left to rank"
    empty = queries - len({hit.query for hit in hits})
    which = "no hits" if queries == 1 else f"no hits for {empty:,} of {queries:,} queries"
    notice(f"jsonvec: {which}: {reason}")


def _conditions(where: tuple[str, ...], index_path: str | None) -> list[Condition]:
    if where and index_path is not None:
        raise click.UsageError("--where filters every record: it takes no --index")
    try:
        return [Condition.parse(text) for text in where]
    except (WhereError, PathError) as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc


def _where_mask(collection: Collection, conditions: list[Condition], book: Codebook) -> Filter:
    """Rows that hold every condition: exact from stored records, else decoded."""
    try:
        kept = where_mask(collection, conditions, book)
    except ProbeError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc
    if kept.decoded:
        notice(
            "jsonvec: --where read from the vectors (no stored records): a record counts as "
            f"holding a value when it decodes to it (kept {int(kept.allowed.sum()):,} of "
            f"{collection.count:,}); encode --keep-records makes it exact"
        )
    return kept


def _print(hits: list[Hit], *, several: bool, plain: bool, records: bool) -> None:
    if plain:
        echo_lines(format_plain(hits, several=several, records=records))
        return
    echo_json(hit.as_json(several=several, records=records) for hit in hits)
