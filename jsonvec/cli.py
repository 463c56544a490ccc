"""The ``jsonvec`` command line: a thin layer over the library.

Exit statuses: 0 success, 1 data or runtime error (one ``Error: ...`` line on stderr),
2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any, BinaryIO

import click
import orjson
from tqdm import tqdm

from jsonvec.atomic import AtomicFile
from jsonvec.codebook import DEFAULT_DIM, DEFAULT_SEED, Codebook, default_codebook
from jsonvec.codebook_file import load_codebook, save_codebook
from jsonvec.encoder import Encoder
from jsonvec.errors import CodebookError, JsonvecError, OutputError
from jsonvec.paths import PathError, parse_path
from jsonvec.pipeline import EncodeOptions, EncodeSummary, encode_to
from jsonvec.reader import STDIN, read_lines
from jsonvec.settings import Settings
from jsonvec.version import __version__
from jsonvec.writers import output_format

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """Raised from the SIGTERM handler so that cleanup runs as for Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


class JsonvecGroup(click.Group):
    """Maps jsonvec's errors to one line on stderr and an exit status: the only place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JsonvecError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except Terminated:
            click.echo("Error: terminated", err=True)
            ctx.exit(EXIT_TERMINATED)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`| head`): end quietly, per Python's SIGPIPE note.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_ERROR)


@click.group(cls=JsonvecGroup)
@click.version_option(__version__, prog_name="jsonvec")
def cli() -> None:
    """Turn JSON records into vectors that are similar when the records are.

    Example:

    \b
        jsonvec encode records.jsonl -o vectors.parquet
        jsonvec codebook new -o my.codebook --dim 2048 --seed 7
    """


def _load(path: str | None) -> Codebook:
    return load_codebook(path) if path is not None else default_codebook()


codebook_option = click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(dir_okay=False),
    help="Codebook file (default: the built-in codebook, dim 1024, seed 0).",
)


def _check_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_path(value)
        except PathError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", required=True, help="OUTPUT.parquet, OUTPUT.npy, .jsonl or -.")
@codebook_option
@click.option("--id-field", callback=_check_path, help="Path of each record's id (user.id).")
@click.option("--skip-invalid", is_flag=True, help="Skip and count invalid lines.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False),
    help="With --skip-invalid: copy invalid lines here, byte for byte.",
)
@click.option("--batch-size", type=click.IntRange(1), default=1024, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def encode(
    inputs: tuple[str, ...],
    output: str,
    codebook_path: str | None,
    id_field: str | None,
    skip_invalid: bool,
    rejects: str | None,
    batch_size: int,
    quiet: bool,
) -> None:
    """Encode JSON Lines records (files, .gz, or stdin) into vectors.

    INPUTS are JSON Lines files, gzip-compressed or not; - or no INPUTS reads stdin. The
    output format follows the name of OUTPUT: .parquet, .npy (with NAME.ids.jsonl and
    NAME.meta.json beside it), .jsonl, or - for JSON Lines on stdout. Files are written
    atomically: a failed run leaves no partial output and keeps the previous one.

    An invalid line stops the run with FILE:LINE: reason and exit status 1, writing nothing;
    with --skip-invalid it is counted (and copied to --rejects) and the run goes on.

    Example:

    \b
        jsonvec encode tweets.jsonl.gz -o tweets.parquet --id-field id_str
        cat *.jsonl | jsonvec encode -o vectors.npy --skip-invalid --rejects bad.jsonl
    """
    if rejects is not None and not skip_invalid:
        raise click.UsageError("--rejects needs --skip-invalid")
    try:
        output_format(output)
    except OutputError as exc:
        raise click.UsageError(str(exc)) from exc
    sources = list(inputs) or [STDIN]
    if sources == [STDIN] and not inputs and sys.stdin.isatty():
        raise click.UsageError("no input: give INPUT files, or pipe JSON Lines to stdin")
    encoder = Encoder(_load(codebook_path))
    options = EncodeOptions(id_field=id_field, skip_invalid=skip_invalid, batch_size=batch_size)
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
    for reason in summary.first_invalid:
        click.echo(f"skipped {reason}", err=True)
    click.echo("jsonvec: " + "; ".join(parts), err=True)


@cli.group()
def codebook() -> None:
    """Create and inspect codebook files."""


def _parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        try:
            params[name] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            params[name] = raw
    return params


@codebook.command("new")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option("--dim", type=int, default=DEFAULT_DIM, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--set-array", multiple=True, help="Path of an array to treat as a set.")
@click.option("--param", multiple=True, help="Any setting as NAME=VALUE (see codebook info).")
def codebook_new(
    output: str, dim: int, seed: int, set_array: tuple[str, ...], param: tuple[str, ...]
) -> None:
    """Write a new codebook file.

    A codebook fixes the dimension, the seed and every setting of the representation; the
    same codebook file gives bit-identical vectors on every machine.

    Example:

    \b
        jsonvec codebook new -o people.codebook --dim 2048 --seed 42 --set-array tags
        jsonvec codebook new -o cb --param number_exact_weight=0.3
    """
    params = _parse_params(param)
    if set_array:
        params["set_arrays"] = list(set_array)
    try:
        settings = Settings().replace(**params)
        book = Codebook(dim=dim, seed=seed, settings=settings)
    except (CodebookError, PathError) as exc:
        raise click.UsageError(str(exc)) from exc
    save_codebook(book, output)
    click.echo(f"jsonvec: wrote codebook {book.fingerprint} to {output}", err=True)


@codebook.command("info")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def codebook_info(path: str | None, as_json: bool) -> None:
    """Show a codebook's parameters, fingerprint and size (no PATH: the built-in one).

    Example:

    \b
        jsonvec codebook info people.codebook
    """
    book = _load(path)
    info: dict[str, Any] = {
        "path": path or "(built-in default)",
        "fingerprint": book.fingerprint,
        "size_bytes": os.path.getsize(path) if path else None,
        **book.params(),
    }
    if as_json:
        click.echo(orjson.dumps(info).decode())
        return
    settings = info.pop("settings")
    for key, value in info.items():
        click.echo(f"{key + ':':<14}{value}")
    click.echo("settings:")
    for key, value in settings.items():
        click.echo(f"  {key + ':':<22}{value}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="jsonvec")
