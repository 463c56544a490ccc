"""``jsonvec index build`` and ``check``: approximate nearest-neighbour indexes (the ANN extra)."""

from __future__ import annotations

import time

import click

from jsonvec.commands.common import InputPath, OutputPath, notice, quiet_option
from jsonvec.search.ann import (
    DEFAULT_PROJECTION,
    DEFAULT_SCALAR,
    DEFAULTS,
    SCALARS,
    AnnIndex,
    build_index,
    update_index,
)
from jsonvec.storage.collection import Collection


@click.group()
def index() -> None:
    """Build and check approximate nearest-neighbour indexes (the 'ann' extra).

    Example:

    \b
        jsonvec index build vectors.parquet -o vectors.usearch
        jsonvec similar vectors.parquet --index vectors.usearch '{"name": "Ann"}'
        jsonvec index check vectors.usearch vectors.parquet
        jsonvec index update vectors/index.usearch vectors/
    """


@index.command("build")
@click.argument("vectors", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(),
    metavar="INDEX",
    help="The index file to write (INDEX.meta.json is written beside it).",
)
@click.option(
    "--connectivity",
    default=DEFAULTS["connectivity"],
    show_default=True,
    type=click.IntRange(2),
    metavar="M",
    help="Links per node of the HNSW graph: more gives better recall, a bigger index and a "
    "slower build.",
)
@click.option(
    "--expansion-add",
    default=DEFAULTS["expansion_add"],
    show_default=True,
    type=click.IntRange(1),
    metavar="EF",
    help="Search breadth while building: more gives a better graph and a slower build.",
)
@click.option(
    "--dtype",
    type=click.Choice(list(SCALARS)),
    default=DEFAULT_SCALAR,
    show_default=True,
    help="How the index keeps the vectors it compares: float16 builds 1.6-1.9x faster in "
    "half the memory, with the recall of float32 (docs/search.md).",
)
@click.option(
    "--projection",
    type=click.IntRange(0),
    default=DEFAULT_PROJECTION,
    show_default=True,
    metavar="DIMS",
    help="Build the graph over DIMS dimensions of a seeded random projection (a faster "
    "build); a search orders the graph's candidates by their exact cosine, read from the "
    "vectors. 0 builds it over the vectors themselves.",
)
@quiet_option
def index_build(
    vectors: tuple[str, ...],
    output: str,
    connectivity: int,
    expansion_add: int,
    dtype: str,
    projection: int,
    quiet: bool,
) -> None:
    """Build an HNSW index over VECTORS for `similar --index` (pip install 'jsonvec[ann]').

    The index is two files, INDEX and INDEX.meta.json; keep them together. It remembers the
    vectors files it was built from by their content and their place relative to it, so
    the index and its vectors can be moved or copied together; `similar` refuses it once
    the vectors change. An INDEX that is one of the vectors files (or their sidecars) is
    refused before anything is built.

    Example:

    \b
        jsonvec index build vectors.parquet -o vectors.usearch
        jsonvec index build daily/ -o daily/index.usearch --connectivity 32
    """
    collection = Collection.open(vectors)
    started = time.perf_counter()
    build_index(collection, output, connectivity=connectivity, expansion_add=expansion_add,
                dtype=dtype, projection=projection)  # fmt: skip
    seconds = time.perf_counter() - started
    notice(f"jsonvec: indexed {collection.count:,} vectors in {seconds:.2f} s -> {output}")


@index.command("update")
@click.argument("index_file", metavar="INDEX", type=InputPath())
@click.argument("vectors", nargs=-1, required=True)
@quiet_option
def index_update(index_file: str, vectors: tuple[str, ...], quiet: bool) -> None:
    """Add to INDEX the vectors appended to VECTORS since it was built (the parts a nightly
    `encode --append` adds to a folder), instead of building it again.

    VECTORS must begin with the files INDEX was built from, unchanged: a file that changed
    or went is refused with one line (build the index again). INDEX and INDEX.meta.json are
    replaced together only when the update is complete, so an update that fails or is
    interrupted leaves the previous index usable. An index that is current is left as it is.

    Example:

    \b
        jsonvec encode today.jsonl -o vectors/ --append --skip-existing --id-field id
        jsonvec index update vectors/index.usearch vectors/
    """
    collection = Collection.open(vectors)
    started = time.perf_counter()
    added = update_index(collection, index_file)
    seconds = time.perf_counter() - started
    if added:
        notice(f"jsonvec: added {added:,} vectors to {index_file} in {seconds:.2f} s")
    else:
        notice(f"jsonvec: {index_file} is up to date with {collection.count:,} vectors")


@index.command("check")
@click.argument("index_file", metavar="INDEX", type=InputPath())
@click.argument("vectors", nargs=-1, required=True)
@quiet_option
def index_check(index_file: str, vectors: tuple[str, ...], quiet: bool) -> None:
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
    notice(f"jsonvec: {index_file} is intact and up to date with {collection.count} vectors")
