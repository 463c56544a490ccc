"""``jsonvec encode``: JSON Lines in, vectors out."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any, BinaryIO

import click
from tqdm import tqdm

from jsonvec.atomic import AtomicFile
from jsonvec.batches import default_jobs
from jsonvec.commands.common import check_path, codebook_option, load
from jsonvec.encoder import Encoder
from jsonvec.errors import OutputError
from jsonvec.pipeline import EncodeOptions, EncodeSummary, encode_to
from jsonvec.reader import STDIN, read_lines
from jsonvec.writers import output_format


class Terminated(KeyboardInterrupt):
    """Raised from the SIGTERM handler so that cleanup runs as for Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", required=True, help="OUTPUT.parquet, OUTPUT.npy, .jsonl or -.")
@codebook_option
@click.option("--id-field", callback=check_path, help="Path of each record's id (user.id).")
@click.option("--skip-invalid", is_flag=True, help="Skip and count invalid lines.")
@click.option(
    "--max-invalid",
    type=click.IntRange(0),
    help="Skip invalid lines, but fail (exit 1, no output) once more than N were invalid.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False),
    help="With --skip-invalid: copy invalid lines here, byte for byte.",
)
@click.option(
    "--keep-records", is_flag=True, help="Store each record's JSON text too (.parquet only)."
)
@click.option(
    "--append",
    is_flag=True,
    help="Add to OUTPUT (a .parquet file, or a folder: a new part) instead of replacing it.",
)
@click.option(
    "--skip-existing",
    is_flag=True,
    help="With --append and --id-field: leave out records whose id is already there.",
)
@click.option("--batch-size", type=click.IntRange(1), default=1024, show_default=True)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1),
    help="Worker processes [default: all cores]; the output is the same for any number.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def encode(
    inputs: tuple[str, ...],
    output: str,
    codebook_path: str | None,
    id_field: str | None,
    skip_invalid: bool,
    max_invalid: int | None,
    rejects: str | None,
    keep_records: bool,
    append: bool,
    skip_existing: bool,
    batch_size: int,
    jobs: int | None,
    quiet: bool,
) -> None:
    """Encode JSON Lines records (files, .gz, or stdin) into vectors.

    INPUTS are JSON Lines files, gzip-compressed or not; - or no INPUTS reads stdin. The
    output format follows the name of OUTPUT: .parquet, .npy (with NAME.ids.jsonl and
    NAME.meta.json beside it), .jsonl, or - for JSON Lines on stdout; --keep-records stores
    each record's JSON text in the Parquet file for `similar --records`. Files are written
    atomically: a failed run leaves no partial output and keeps the previous one.

    An invalid line stops the run with FILE:LINE: reason and exit status 1, writing nothing;
    with --skip-invalid it is counted (and copied to --rejects) and the run goes on.

    Example:

    \b
        jsonvec encode tweets.jsonl.gz -o tweets.parquet --id-field id_str
        cat *.jsonl | jsonvec encode -o vectors.npy --skip-invalid --rejects bad.jsonl
        jsonvec encode feed.jsonl -o feed.parquet --max-invalid 100 --rejects bad.jsonl
        jsonvec encode big.jsonl.gz -o big.parquet --jobs 2
        jsonvec encode today.jsonl -o vectors/ --append --skip-existing --id-field id
    """
    skip_invalid = skip_invalid or max_invalid is not None
    if rejects is not None and not skip_invalid:
        raise click.UsageError("--rejects needs --skip-invalid or --max-invalid")
    if skip_existing and not (append and id_field):
        raise click.UsageError("--skip-existing needs --append and --id-field")
    try:
        if not append and output_format(output) != ".parquet" and keep_records:
            raise click.UsageError("--keep-records needs a .parquet output")
    except OutputError as exc:
        raise click.UsageError(str(exc)) from exc
    sources = list(inputs) or [STDIN]
    if sources == [STDIN] and not inputs and sys.stdin.isatty():
        raise click.UsageError("no input: give INPUT files, or pipe JSON Lines to stdin")
    encoder = Encoder(load(codebook_path))
    options = EncodeOptions(
        id_field,
        skip_invalid,
        keep_records,
        batch_size,
        jobs if jobs else default_jobs(),
        max_invalid,
        append,
        skip_existing,
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with _rejects_file(rejects) as rejects_stream, _progress(sources, quiet) as progress:
            summary = encode_to(
                output,
                read_lines(sources),
                encoder,
                options,
                stdout=sys.stdout.buffer,
                rejects=rejects_stream,
                progress=progress,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not quiet:
        _report(summary, output, rejects)


@contextlib.contextmanager
def _rejects_file(path: str | None) -> Iterator[BinaryIO | None]:
    if path is None:
        yield None
        return
    with AtomicFile(path) as handle:
        yield handle.file


@contextlib.contextmanager
def _progress(sources: list[str], quiet: bool) -> Iterator[Any]:
    sizes = [os.path.getsize(s) if s != STDIN and os.path.isfile(s) else None for s in sources]
    total = None if None in sizes else sum(s for s in sizes if s is not None)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc="encoding",
        disable=True if quiet else None,
        file=sys.stderr,
        leave=False,
    )
    try:
        yield bar.update
    finally:
        bar.close()


def _report(summary: EncodeSummary, output: str, rejects: str | None) -> None:
    target = "stdout" if output == "-" else output
    parts = [
        f"encoded {summary.records} records in {summary.seconds:.2f} s "
        f"({summary.rate:,.0f} records/s) -> {target}"
    ]
    if summary.invalid:
        where = f" (copied to {rejects})" if rejects else ""
        parts.append(f"skipped {summary.invalid} invalid lines{where}")
    if summary.blank:
        parts.append(f"ignored {summary.blank} blank lines")
    if summary.existing:
        parts.append(f"left out {summary.existing} records already present")
    for reason in summary.first_invalid:
        click.echo(f"skipped {reason}", err=True)
    click.echo("jsonvec: " + "; ".join(parts), err=True)
