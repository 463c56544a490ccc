"""``jsonvec probe``: the most likely values at a path, read back from record vectors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import click
import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.commands.common import (
    VECTORS_CODEBOOK_HELP,
    InputPath,
    codebook_option,
    echo_json,
    echo_lines,
    input_format_option,
    number_option,
    plain_option,
    quiet_option,
    vectors_codebook,
    warn,
)
from jsonvec.encoding.probe import GRID_SIZE, check_path, cleanup_best, estimate_numbers, unbind
from jsonvec.errors import PathError, ProbeError
from jsonvec.records.paths import format_path, parse_path, values_at
from jsonvec.records.reader import STDIN, expand_inputs, parse_line, read_lines
from jsonvec.search.census import generic_path, missing_path, take_census
from jsonvec.search.exact import noise_ceiling
from jsonvec.storage.collection import Collection
from jsonvec.storage.guard import Named, check_files, reads

MAX_CANDIDATES = 1_000_000  # distinct values kept from --from


@click.command()
@click.argument("vectors", nargs=-1, required=True, metavar="VECTORS...")
@click.option("--path", "path_text", required=True, metavar="PATH", help="The field to read.")
@click.option(
    "--from",
    "data",
    type=InputPath(),
    metavar="DATA",
    help="Candidates: the distinct values at PATH in these records (a file, folder or "
    "glob of JSON Lines or .json documents; - for stdin).",
)
@click.option(
    "--candidates",
    type=InputPath(),
    metavar="FILE",
    help="Candidates: one JSON value per line (- for stdin).",
)
@number_option(3, "Values per record.")
@click.option("--id", "record_id", metavar="ID", help="Only the record with this id.")
@codebook_option(VECTORS_CODEBOOK_HELP)
@plain_option
@input_format_option
@quiet_option
def probe(
    vectors: tuple[str, ...],
    path_text: str,
    data: str | None,
    candidates: str | None,
    number: int,
    record_id: str | None,
    codebook_path: str | None,
    plain: bool,
    input_format: str | None,
    quiet: bool,
) -> None:
    """The most likely values at PATH of each record, read back from its vector.

    The record vector is unbound by the role of PATH (the transpose of its signed
    permutation), and the result is compared with the vector of every candidate value. PATH
    is keys joined by dots, [N] for an array's element N, [] for any element of an array of
    scalars (user.address.city, tags[2], tags[]).

    Candidates come from --from DATA (the distinct values at PATH in the data the vectors
    were made from, or any other) or --candidates FILE (one JSON value per line). Prints one
    JSON object per value, best first: {"id", "path", "value", "score", "rank"}; the score
    is the cosine of the unbound vector with the value's: about 1/sqrt(n) of a record of n
    leaves when the value is there, noise of about 1/sqrt(dim) otherwise.

    Without candidates, PATH is read as a number: one object per record with the estimate
    and "low", "high", the range of numbers that fit within the noise. A path that holds no
    number in any record is an error (give candidates for strings). Where the records are
    stored (encode --keep-records), a PATH that none of them holds is a warning naming the
    nearest paths that do.

    Example:

    \b
        jsonvec probe people.parquet --path city --from people.jsonl -n 1
        jsonvec probe people.parquet --path tags[] --candidates tags.jsonl --id p07 --plain
        jsonvec probe people.parquet --path age
    """
    try:
        segments = parse_path(path_text)
    except PathError as exc:
        raise click.BadParameter(str(exc), param_hint="--path") from exc
    if data is not None and candidates is not None:
        raise click.UsageError("give one of --from DATA and --candidates FILE")
    collection = Collection.open(list(vectors))
    sources = expand_inputs([data]) if data is not None else []
    read = collection.read_files() + reads(sources) + reads([candidates] if candidates else [])
    check_files(read + reads([codebook_path] if codebook_path else [], "codebook"),
                [Named("output", "-")])  # fmt: skip
    book = vectors_codebook(collection, codebook_path)
    try:
        check_path(segments, book)
    except ProbeError as exc:
        raise click.BadParameter(str(exc), param_hint="--path") from exc
    missing = _missing_path(collection, segments)
    if data is None and candidates is None:
        _estimates(collection, segments, book, record_id, plain, missing)
        return
    values = (
        _values_from(sources, data or "", segments, input_format)
        if data is not None
        else _candidates(str(candidates), input_format)
    )
    if not values:
        raise click.UsageError(
            f"no candidates: {data or candidates} holds no value at {format_path(segments)}"
        )
    rows = [collection.find(record_id)] if record_id is not None else None
    shown = format_path(segments)
    k = min(number, len(values))
    found = (
        {"id": rid, "path": shown, "value": values[j], "score": score, "rank": rank}
        for row_ids, block in _blocks(collection, rows)
        for rid, best, scored in _ranked(row_ids, cleanup_best(block, segments, values, book), k)
        for rank, (j, score) in enumerate(zip(best, scored, strict=True), start=1)
    )
    _print(found, plain)
    if missing is not None:
        warn(missing)


def _missing_path(collection: Collection, segments: tuple[Any, ...]) -> str | None:
    """The warning for a path that no stored record holds (None where one does, or where
    no records are stored). Reading stops at the first record that holds it."""
    if not collection.has_records:
        return None
    for record in collection.all_records():
        if values_at(record, segments):
            return None
    census = take_census(collection.all_records())
    return missing_path(generic_path(segments), census, "--path")


def _ranked(
    row_ids: list[Any], scores: NDArray[np.float32], k: int
) -> Iterator[tuple[Any, list[int], list[float]]]:
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    for i, rid in enumerate(row_ids):
        yield rid, best[i].tolist(), [round(float(scores[i, j]), 6) for j in best[i]]


def _estimates(
    collection: Collection,
    segments: tuple[Any, ...],
    book: Codebook,
    record_id: str | None,
    plain: bool,
    missing: str | None,
) -> None:
    """No candidates: each record's number at the path, estimated with its range."""
    rows = [collection.find(record_id)] if record_id is not None else None
    shown = format_path(segments)
    found: list[dict[str, Any]] = []
    for row_ids, block in _blocks(collection, rows):
        guesses = estimate_numbers(unbind(block, segments, book), book)
        for rid, guess in zip(row_ids, guesses, strict=True):
            found.append({
                "id": rid, "path": shown, "value": guess.value, "score": round(guess.score, 6),
                "rank": 1, "low": guess.low, "high": guess.high, "support": guess.support,
            })  # fmt: skip
    floor = noise_ceiling(GRID_SIZE, book.dim)
    weak = sum(1 for f in found if f.pop("support") < floor)
    if found and weak == len(found):
        raise click.UsageError(
            f"{shown} does not read back as a number in any record (every best score, less its "
            f"largest coordinate's share, is under {floor:.3f}, what noise reaches): for strings "
            "and other values give candidates with --from DATA or --candidates FILE"
            + (f"; {missing}" if missing else "")
        )
    _print(found, plain)
    if missing is not None:
        warn(missing)
    elif weak:
        warn(
            f"{weak:,} of {len(found):,} records score under {floor:.3f} at {shown}: they "
            "likely hold no number there"
        )


def _blocks(collection: Collection, rows: list[int] | None) -> Iterator[tuple[list[Any], Any]]:
    """(ids, vectors) a chunk at a time, or of the rows asked for."""
    if rows is not None:
        yield collection.ids(rows), np.stack([collection.vector(r) for r in rows])
        return
    for start, block in collection.chunks(1 << 12):
        yield collection.ids(range(start, start + len(block))), block


def _values_from(
    sources: list[str], data: str, segments: tuple[Any, ...], fmt: str | None
) -> list[Any]:
    """The distinct values at ``segments`` in the records of ``sources``, in order of first
    appearance."""
    seen: dict[bytes, Any] = {}
    for line in read_lines(sources, fmt=fmt):
        if line.is_blank:
            continue
        record = parse_line(line)
        for value in values_at(record, segments):
            key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                if len(seen) == MAX_CANDIDATES:
                    raise click.UsageError(
                        f"{data} holds more than {MAX_CANDIDATES:,} distinct values at "
                        f"{format_path(segments)}: give fewer with --candidates"
                    )
                seen[key] = value
    return list(seen.values())


def _candidates(path: str, fmt: str | None) -> list[Any]:
    source = STDIN if path == "-" else path
    return [parse_line(line) for line in read_lines([source], fmt=fmt) if not line.is_blank]


def _print(found: Iterable[dict[str, Any]], plain: bool) -> None:
    if plain:
        out = list(found)
        rows = [("id", "rank", "score", "value")] + [
            (str(o["id"]), str(o["rank"]), f"{o['score']:.4f}", orjson.dumps(o["value"]).decode())
            for o in out
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        echo_lines(
            [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows]
        )
        return
    echo_json(found)
