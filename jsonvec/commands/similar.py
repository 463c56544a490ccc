"""``jsonvec similar`` (nearest records) and ``jsonvec index build`` (the ANN extra)."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from collections.abc import Iterator
from typing import Any

import click
import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.ann import AnnIndex, build_index
from jsonvec.codebook import Codebook
from jsonvec.codebook_file import load_codebook
from jsonvec.collection import Collection, names_vectors
from jsonvec.commands.common import echo_lines, engine_options, writing_stdout
from jsonvec.encoder import Encoder
from jsonvec.errors import PathError, ProbeError, WhereError
from jsonvec.hits import Hit, collect_hits, format_plain
from jsonvec.reader import STDIN, parse_line, read_lines
from jsonvec.search import CollectionSearch, Searcher, noise_ceiling
from jsonvec.where import Condition, decoded_mask, exact_mask

QUERY_WAYS = "QUERY (the last argument), -q JSON, -i FILE or --id ID"


@click.command()
@click.argument("args", nargs=-1, metavar="VECTORS... [QUERY]")
@click.option(
    "-q", "--query", "query_json", metavar="JSON", help="The query as JSON (no guessing)."
)
@click.option(
    "-i",
    "--input",
    "query_file",
    metavar="FILE",
    help="Queries as JSON Lines from FILE, or - for stdin.",
)
@click.option("--id", "query_id", metavar="ID", help="Use the stored vector of this record.")
@click.option(
    "-n",
    "--number",
    default=10,
    show_default=True,
    type=click.IntRange(1),
    metavar="N",
    help="Hits per query.",
)
@click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="The codebook of the vectors (default: rebuilt from their metadata); must match.",
)
@click.option("--threshold", type=float, metavar="S", help="Only hits scoring at least S.")
@click.option("--records", is_flag=True, help="Add each hit's record (encode --keep-records).")
@click.option("--plain", is_flag=True, help="An aligned table for people instead of JSON.")
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
@click.option("--index", "index_path", metavar="INDEX", help="Search through this ANN index.")
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
) -> None:
    """Find the records nearest to an example, a partial record, or a stored id.

    VECTORS are outputs of `jsonvec encode` (.parquet, .npy with its sidecars, .jsonl),
    folders of them (their .parquet and .npy files) or glob patterns. An argument that
    names an existing file or folder, or a glob that matches one, is VECTORS; any other
    last argument is the QUERY and must be JSON (any JSON value); anything else is an error.
    -q JSON gives the query without guessing. Or: -i FILE (JSON Lines, - for stdin: one
    result list per line, each hit tagged with "query", its line number), or --id (the
    stored vector of that record, which is left out of its own hits). Give exactly one.

    The codebook is read from the vectors' metadata; --codebook may name it, and must then
    be the same.

    Prints one JSON object per hit, best first: {"id", "score", "rank"}, and "source", the
    file of the hit, when VECTORS are several files. Scores are cosine similarities: 1.0
    for the same content. A partial query such as '{"city": "Paris"}' ranks first the
    records that hold that value; a record of n fields that contains all m fields of the
    query scores about sqrt(m/n).

    On wide records (many fields) one field carries little of a record's vector, and a
    partial query, above all a mistyped one, may miss its holder. --by-field scores every
    stored record (encode --keep-records) field by field instead: the mean over the query's
    fields of how well the record's value at the same path matches (1.0 the same value;
    strings by edit distance, so one wrong letter of eight scores 0.875; numbers by relative
    difference; an array in the query matches an element in any position), ties broken by
    the vectors' cosine.

    Example:

    \b
        jsonvec similar people.parquet '{"city": "Paris", "age": 34}'
        jsonvec similar daily/ --id 4711 -n 5 --plain
        jsonvec similar people.parquet -i queries.jsonl --records
        jsonvec similar 'daily/*.parquet' -q '"a bare string as the query"'
        jsonvec similar countries.parquet --by-field '{"name": {"common": "Germny"}}'
        jsonvec similar people.parquet '{"name": "Ann"}' --where city=Paris --where age=34
        jsonvec similar lake-vectors/ '{"user": "ann"}' --engine dask --scheduler tcp://s:8786
    """
    vectors, inline = _split_args(args, query_json, query_file, query_id)
    if ef is not None and index_path is None:
        raise click.UsageError("--ef needs --index (exact search has no breadth to set)")
    _check_engine(engine, scheduler, by_field=by_field, where=bool(where), index=index_path)
    collection = Collection.open(vectors)
    if records and not collection.has_records:
        raise click.UsageError("--records needs vectors written with encode --keep-records")
    if by_field:
        _check_by_field(collection, query_id, index_path)
    conditions = _conditions(where, index_path)
    exclude: int | None = None
    labels: list[int] | None = None
    values: list[Any] = []
    if query_id is not None:
        exclude = collection.find(query_id)
        queries = collection.vector(exclude)[None, :]
    else:
        encoder = Encoder(vectors_codebook(collection, codebook_path))
        values, labels = _read_queries(inline, query_file)
        queries = encoder.encode_batch(values)
    if collection.count == 0:
        click.echo("jsonvec: the vectors hold no records", err=True)
        return
    ann = AnnIndex(collection, index_path, ef or 64) if index_path is not None else None
    extra = 1 if exclude is not None else 0
    warning = None
    if conditions:
        book = vectors_codebook(collection, codebook_path)
        allowed = _where_mask(collection, conditions, book)
        rows, scores = _filtered(collection, values if by_field else None, queries, allowed,
                                 number + extra)  # fmt: skip
    elif by_field:
        rows, scores = _by_field(collection, values, queries, number)
    else:
        with _searcher(collection, ann, engine, scheduler) as searcher:
            rows, scores = CollectionSearch(collection, searcher).search(queries, number + extra)
        if query_id is None:
            warning = _noise_warning(scores, collection, several=query_file is not None)
    hits = collect_hits(collection, rows, scores, number, threshold, exclude, records, labels)
    _print(hits, several=query_file is not None, plain=plain, records=records)
    if warning is not None:  # after the hits, and only when they were written
        click.echo(warning, err=True)


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


def _by_field(
    collection: Collection, values: list[Any], queries: NDArray[np.float32], number: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Rows and field scores of the best ``number`` records for each query (the vectors'
    cosines break ties)."""
    from jsonvec.fields import rank_by_fields  # noqa: PLC0415

    cosines = np.concatenate(
        [(queries @ block.T).astype(np.float32) for _, block in collection.chunks()], axis=1
    )
    return rank_by_fields(values, collection.all_records(), cosines, number)


def _noise_warning(
    scores: NDArray[np.float32], collection: Collection, several: bool
) -> str | None:
    """A warning when best hits do not stand above what unrelated records score."""
    ceiling = noise_ceiling(collection.count, collection.dim)
    best = scores[:, 0] if scores.shape[1] else np.zeros(0, dtype=np.float32)
    low = int(np.sum(best < ceiling))
    if not low:
        return None
    which = (
        f"{low} of {len(best)} queries' best hits score"
        if several
        else f"the best hit scores {float(best[0]):.3f},"
    )
    return (
        f"jsonvec: warning: {which} under {ceiling:.3f}, what unrelated records can reach "
        f"among {collection.count:,} of dim {collection.dim}: a hit may not hold the query's "
        "values (on records of many fields one field carries little of a vector); "
        "--by-field scores the stored records field by field (encode --keep-records)"
    )


def _conditions(where: tuple[str, ...], index_path: str | None) -> list[Condition]:
    if where and index_path is not None:
        raise click.UsageError("--where filters every record: it takes no --index")
    try:
        return [Condition.parse(text) for text in where]
    except (WhereError, PathError) as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc


def _where_mask(
    collection: Collection, conditions: list[Condition], book: Codebook
) -> NDArray[np.bool_]:
    """Rows that hold every condition: exact from stored records, else decoded."""
    if collection.has_records:
        return exact_mask(conditions, collection.all_records())
    try:
        mask = decoded_mask(conditions, collection.chunks(), book)
    except ProbeError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc
    click.echo(
        "jsonvec: --where read from the vectors (no stored records): a record counts as "
        f"holding a value when it decodes to it (kept {int(mask.sum()):,} of "
        f"{collection.count:,}); encode --keep-records makes it exact",
        err=True,
    )
    return mask


def _filtered(
    collection: Collection,
    by_field: list[Any] | None,
    queries: NDArray[np.float32],
    allowed: NDArray[np.bool_],
    number: int,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The best ``number`` allowed rows per query, by field score (``by_field`` holds the
    queries' values) or by cosine."""
    from jsonvec.fields import field_scores, ranked  # noqa: PLC0415

    cosines = np.concatenate(
        [(queries @ block.T).astype(np.float32) for _, block in collection.chunks()], axis=1
    )
    primary = cosines if by_field is None else field_scores(by_field, collection.all_records())
    return ranked(primary, cosines, number, allowed)


def _split_args(
    args: tuple[str, ...], query_json: str | None, query_file: str | None, query_id: str | None
) -> tuple[list[str], str | None]:
    """VECTORS and the query given as the last argument (if it is one)."""
    vectors: list[str] = []
    inline: str | None = query_json
    for position, arg in enumerate(args):
        if names_vectors(arg):
            vectors.append(arg)
        elif position == len(args) - 1 and query_json is None:
            try:
                orjson.loads(arg)
            except orjson.JSONDecodeError as exc:
                raise click.UsageError(
                    f"{arg!r} is neither a vectors file, folder or glob (none exists) nor a "
                    f"JSON query (invalid JSON: {exc.msg}); use -q JSON to give a query"
                ) from exc
            inline = arg
        else:
            raise click.UsageError(f"{arg}: no such vectors file, folder or glob")
    given = [q for q in (inline, query_file, query_id) if q is not None]
    if not vectors:
        raise click.UsageError("give VECTORS: vectors files, folders or glob patterns")
    if not given:
        raise click.UsageError(f"give a query: {QUERY_WAYS}")
    if len(given) > 1:
        raise click.UsageError(f"give one query, not {len(given)}: {QUERY_WAYS}")
    return vectors, inline


def _read_queries(inline: str | None, query_file: str | None) -> tuple[list[Any], list[int]]:
    """The queries and their labels: line numbers for -i FILE."""
    if inline is not None:
        try:
            return [orjson.loads(inline)], [0]
        except orjson.JSONDecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc.msg}", param_hint="-q") from exc
    assert query_file is not None
    source = STDIN if query_file == "-" else query_file
    lines = [line for line in read_lines([source]) if not line.is_blank]
    return [parse_line(line) for line in lines], [line.lineno for line in lines]


def vectors_codebook(collection: Collection, codebook_path: str | None) -> Codebook:
    """The codebook to encode queries with: the vectors' own, or --codebook if it matches."""
    book = load_codebook(codebook_path) if codebook_path else None
    if collection.fingerprint is None:
        named = codebook_path or "the built-in codebook"
        click.echo(
            f"jsonvec: warning: {collection.files[0].path} does not say which codebook encoded "
            f"it; the queries use {named}",
            err=True,
        )
    return collection.query_codebook(book, codebook_path or "")


def _print(hits: list[Hit], *, several: bool, plain: bool, records: bool) -> None:
    if plain:
        echo_lines(format_plain(hits, several=several, records=records))
        return
    out = sys.stdout.buffer
    with writing_stdout():
        for hit in hits:
            out.write(orjson.dumps(hit.as_json(several=several, records=records)) + b"\n")
        out.flush()


@click.group()
def index() -> None:
    """Build and check approximate nearest-neighbour indexes (the 'ann' extra).

    Example:

    \b
        jsonvec index build vectors.parquet -o vectors.usearch
        jsonvec similar vectors.parquet --index vectors.usearch '{"name": "Ann"}'
        jsonvec index check vectors.usearch vectors.parquet
    """


@index.command("build")
@click.argument("vectors", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="INDEX",
    help="The index file to write (INDEX.meta.json is written beside it).",
)
@click.option(
    "--connectivity",
    default=16,
    show_default=True,
    type=click.IntRange(2),
    metavar="M",
    help="Links per node of the HNSW graph: more gives better recall, a bigger index and a "
    "slower build.",
)
@click.option(
    "--expansion-add",
    default=128,
    show_default=True,
    type=click.IntRange(1),
    metavar="EF",
    help="Search breadth while building: more gives a better graph and a slower build.",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def index_build(
    vectors: tuple[str, ...], output: str, connectivity: int, expansion_add: int, quiet: bool
) -> None:
    """Build an HNSW index over VECTORS for `similar --index` (pip install 'jsonvec[ann]').

    The index is two files, INDEX and INDEX.meta.json; keep them together. It remembers the
    vectors files it was built from by their content and their place relative to it, so
    the index and its vectors can be moved or copied together; `similar` refuses it once
    the vectors change.

    Example:

    \b
        jsonvec index build vectors.parquet -o vectors.usearch
        jsonvec index build daily/ -o daily/index.usearch --connectivity 32
    """
    collection = Collection.open(vectors)
    started = time.perf_counter()
    build_index(collection, output, connectivity=connectivity, expansion_add=expansion_add)
    seconds = time.perf_counter() - started
    if not quiet:
        click.echo(
            f"jsonvec: indexed {collection.count:,} vectors in {seconds:.2f} s -> {output}",
            err=True,
        )


@index.command("check")
@click.argument("index_file", metavar="INDEX", type=click.Path(dir_okay=False))
@click.argument("vectors", nargs=-1, required=True)
def index_check(index_file: str, vectors: tuple[str, ...]) -> None:
    """Check INDEX against VECTORS: codebook, files unchanged, checksums of both.

    Reads the index and the vectors in full; exit status 0 when all is well, 1 (with the
    problem on stderr) otherwise.

    Example:

    \b
        jsonvec index check vectors.usearch vectors.parquet
    """
    collection = Collection.open(vectors)
    for _ in collection.chunks():  # reading in full checks the vectors' checksums
        pass
    AnnIndex(collection, index_file).verify()
    click.echo(
        f"jsonvec: {index_file} is intact and up to date with {collection.count} vectors", err=True
    )
