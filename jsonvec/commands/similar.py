"""``jsonvec similar``: the records nearest to an example, an id, or a partial record."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import Any

import click

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
from jsonvec.errors import PathError, WhereError
from jsonvec.records.reader import STDIN
from jsonvec.search.ann import DEFAULTS, AnnIndex, meta_path
from jsonvec.search.exact import Searcher
from jsonvec.search.hits import Hit, format_plain
from jsonvec.search.queries import check_one_query, parse_query, read_queries, split_arguments
from jsonvec.search.similar import find
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
    help=f"With --index: search breadth [default: {DEFAULTS['expansion_search']}]; higher "
    "finds more of the true neighbours, slower.",
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
    if by_field:
        _check_by_field(query_id, index_path)
    collection = Collection.open(vectors)
    _guard(collection, codebook_path, query_file, index_path)
    if records and not collection.has_records:
        raise click.UsageError("--records needs vectors written with encode --keep-records")
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
    breadth = ef or DEFAULTS["expansion_search"]
    ann = AnnIndex(collection, index_path, breadth) if index_path is not None else None
    try:
        with _searcher(collection, ann, engine, scheduler) as searcher:
            results = find(collection, queries, number, codebook=book,
                           by_field=values if by_field else None, where=conditions,
                           searcher=searcher, exclude=exclude, threshold=threshold,
                           records=records, labels=labels)  # fmt: skip
    except WhereError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc
    for note in results.notes:
        notice(f"jsonvec: {note}")
    _print(results.hits, several=query_file is not None, plain=plain, records=records)
    for warning in results.warnings:  # after the hits, and only when they were written
        warn(warning)
    if results.why_none is not None:
        notice(f"jsonvec: {results.why_none}")


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


def _check_by_field(query_id: str | None, index_path: str | None) -> None:
    if query_id is not None:
        raise click.UsageError("--by-field scores a query's fields: give a query, not --id")
    if index_path is not None:
        raise click.UsageError("--by-field scores every stored record: it takes no --index")


def _conditions(where: tuple[str, ...], index_path: str | None) -> list[Condition]:
    if where and index_path is not None:
        raise click.UsageError("--where filters every record: it takes no --index")
    try:
        return [Condition.parse(text) for text in where]
    except (WhereError, PathError) as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc


def _print(hits: list[Hit], *, several: bool, plain: bool, records: bool) -> None:
    if plain:
        echo_lines(format_plain(hits, several=several, records=records))
        return
    echo_json(hit.as_json(several=several, records=records) for hit in hits)
