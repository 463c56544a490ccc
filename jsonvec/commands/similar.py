"""``jsonvec similar`` (nearest records) and ``jsonvec index build`` (the ANN extra)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import numpy as np
import orjson

from jsonvec.ann import AnnIndex, build_index
from jsonvec.collection import Collection
from jsonvec.commands.common import codebook_option, load
from jsonvec.encoder import Encoder
from jsonvec.errors import JsonvecError
from jsonvec.hits import Hit, collect_hits, format_plain
from jsonvec.reader import STDIN, parse_line, read_lines
from jsonvec.search import Index


class CodebookMismatchError(JsonvecError):
    """The query codebook is not the one the vectors were encoded with."""


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="VECTORS... [QUERY_JSON]")
@click.option(
    "-i", "--input", "query_file", help="Queries as JSON Lines from FILE, or - for stdin."
)
@click.option("--id", "query_id", help="Use the stored vector of the record with this id.")
@click.option("-n", "--number", default=10, show_default=True, type=click.IntRange(1))
@codebook_option
@click.option("--threshold", type=float, help="Only hits scoring at least this much.")
@click.option("--records", is_flag=True, help="Add each hit's record (encode --keep-records).")
@click.option("--plain", is_flag=True, help="An aligned table for people instead of JSON.")
@click.option("--index", "index_path", help="Search through this ANN index (index build).")
@click.option(
    "--ef",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="With --index: search breadth; higher finds more of the true neighbours, slower.",
)
def similar(
    args: tuple[str, ...],
    query_file: str | None,
    query_id: str | None,
    number: int,
    codebook_path: str | None,
    threshold: float | None,
    records: bool,
    plain: bool,
    index_path: str | None,
    ef: int,
) -> None:
    """Find the records nearest to an example, a partial record, or a stored id.

    VECTORS are outputs of `jsonvec encode` (.parquet, or .npy with its sidecars), folders or
    glob patterns of them. The query is QUERY_JSON (the last argument), JSON Lines from -i FILE
    or -i - (one result list per line, each hit tagged with "query", its 0-based line), or --id
    (the stored vector of that record; the record itself is left out of the hits).

    Prints one JSON object per hit, best first: {"id", "score", "rank"}. Scores are cosine
    similarities: 1.0 for the same content. A partial query such as '{"city": "Paris"}' ranks
    first the records that hold that value; a record of n fields that contains all m fields
    of the query scores about sqrt(m/n).

    Example:

    \b
        jsonvec similar people.parquet '{"city": "Paris", "age": 34}'
        jsonvec similar daily/ --id 4711 -n 5 --plain
        jsonvec similar people.parquet -i queries.jsonl --records
    """
    vectors, inline = _split_args(args, query_file, query_id)
    collection = Collection.open(vectors)
    if records and not collection.has_records:
        raise click.UsageError("--records needs vectors written with encode --keep-records")
    ann = AnnIndex(collection, index_path, ef) if index_path is not None else None
    searcher = Index(collection, ann)
    exclude: int | None = None
    if query_id is not None:
        exclude = collection.find(query_id)
        queries = collection.vector(exclude)[np.newaxis, :]
    else:
        encoder = Encoder(load(codebook_path))
        _check_codebook(collection, encoder, codebook_path)
        queries = encoder.encode_batch(_read_queries(inline, query_file))
    if collection.count == 0:
        click.echo("jsonvec: the vectors hold no records", err=True)
        return
    extra = 1 if exclude is not None else 0
    rows, scores = searcher.search(queries, number + extra)
    hits = collect_hits(collection, rows, scores, number, threshold, exclude, records)
    _print(hits, several=len(queries) > 1, plain=plain, records=records)


def _split_args(
    args: tuple[str, ...], query_file: str | None, query_id: str | None
) -> tuple[list[str], str | None]:
    if query_file is not None and query_id is not None:
        raise click.UsageError("give one query: QUERY_JSON, -i FILE or --id ID")
    if query_file is not None or query_id is not None:
        return list(args), None
    if len(args) < 2:
        raise click.UsageError("give VECTORS and a query: QUERY_JSON, -i FILE or --id ID")
    return list(args[:-1]), args[-1]


def _read_queries(inline: str | None, query_file: str | None) -> list[Any]:
    if inline is not None:
        try:
            return [orjson.loads(inline)]
        except orjson.JSONDecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc.msg}", param_hint="QUERY_JSON") from exc
    assert query_file is not None
    source = STDIN if query_file == "-" else query_file
    return [parse_line(line) for line in read_lines([source]) if not line.is_blank]


def _check_codebook(collection: Collection, encoder: Encoder, codebook_path: str | None) -> None:
    if encoder.codebook.fingerprint != collection.fingerprint:
        named = codebook_path or "the built-in codebook"
        raise CodebookMismatchError(
            f"the vectors were encoded with codebook {collection.fingerprint}, but the query "
            f"uses {named} ({encoder.codebook.fingerprint}); pass the same --codebook"
        )
    if encoder.dim != collection.dim:  # pragma: no cover - the fingerprint covers dim
        raise CodebookMismatchError(f"codebook dim {encoder.dim} != vectors dim {collection.dim}")


def _print(hits: list[Hit], *, several: bool, plain: bool, records: bool) -> None:
    if plain:
        for line in format_plain(hits, several=several, records=records):
            click.echo(line)
        return
    out = sys.stdout.buffer
    for hit in hits:
        out.write(orjson.dumps(hit.as_json(several=several, records=records)) + b"\n")
    out.flush()


@click.group()
def index() -> None:
    """Build an approximate nearest-neighbour index (the 'ann' extra)."""


@index.command("build")
@click.argument("vectors", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option("--connectivity", default=16, show_default=True, type=click.IntRange(2))
@click.option("--expansion-add", default=128, show_default=True, type=click.IntRange(1))
def index_build(
    vectors: tuple[str, ...], output: str, connectivity: int, expansion_add: int
) -> None:
    """Build an HNSW index over VECTORS for `similar --index` (pip install 'jsonvec[ann]').

    The index remembers which vectors files it was built from, their sizes and modification
    times; `similar` refuses it once they change.

    Example:

    \b
        jsonvec index build vectors.parquet -o vectors.usearch
        jsonvec similar vectors.parquet --index vectors.usearch '{"name": "Ann"}'
    """
    collection = Collection.open(vectors)
    started = time.perf_counter()
    build_index(collection, output, connectivity=connectivity, expansion_add=expansion_add)
    seconds = time.perf_counter() - started
    click.echo(
        f"jsonvec: indexed {collection.count} vectors in {seconds:.2f} s -> {output}", err=True
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
