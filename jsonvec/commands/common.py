"""What every command shares: exit statuses and messages, stdout and stderr, and the options
declared once for all (``-q/--quiet``, ``--codebook``, ``-n``, ``--plain``, ``--threshold``,
``--input-format``, ``--engine``)."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click
import orjson

from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.codebook.files import load_codebook
from jsonvec.errors import JsonvecError, PathError, PipeClosedError, UsageError
from jsonvec.records.paths import parse_path
from jsonvec.records.reader import INPUT_FORMATS
from jsonvec.storage.stdout import StdoutWriter

if TYPE_CHECKING:
    from jsonvec.storage.collection import (
        Collection,  # Parquet reading: only where vectors are read
    )

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # 128 + SIGPIPE, as for cat, grep and any program killed by SIGPIPE
EXIT_TERMINATED = 143

_QUIET = "jsonvec.quiet"  # the key of -q in the context's meta, shared by its sub-contexts


class Terminated(KeyboardInterrupt):
    """Raised from the SIGTERM handler so that cleanup runs as for Ctrl-C."""


#: exit statuses by kind of error, the first match counts; any other error is EXIT_ERROR
_STATUSES: tuple[tuple[tuple[type[BaseException], ...], int], ...] = (
    ((UsageError, click.UsageError), EXIT_USAGE),
    ((Terminated,), EXIT_TERMINATED),
    ((KeyboardInterrupt,), EXIT_INTERRUPTED),
    ((PipeClosedError, BrokenPipeError), EXIT_PIPE),
)


def exit_status(exc: BaseException | None) -> int:
    """The exit status of a command that ended with ``exc`` (None: success)."""
    if exc is None:
        return EXIT_OK
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    for kinds, status in _STATUSES:
        if isinstance(exc, kinds):
            return status
    return EXIT_ERROR


def error_message(exc: BaseException) -> str:
    """What went wrong, in words (the ``error`` of ``encode --summary``)."""
    if isinstance(exc, Terminated):
        return "terminated"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, click.UsageError):
        return exc.format_message()
    if isinstance(exc, JsonvecError):
        return str(exc)
    if isinstance(exc, BrokenPipeError):
        return "stdout was closed by its reader"
    return str(exc) or type(exc).__name__


def printed_message(exc: BaseException) -> str | None:
    """The one line a command prints on stderr for ``exc``: none for a closed stdout (as
    ``cat`` prints none)."""
    if isinstance(exc, PipeClosedError | BrokenPipeError):
        return None
    return error_message(exc)


def silence_stdout() -> None:
    """Point stdout at /dev/null: what could not be written is lost, and Python's own flush
    at exit must not fail again (it would print a traceback and exit 120)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


# -- stdout is data, stderr is people


def echo_lines(lines: Iterable[str]) -> None:
    """Print lines of text on stdout, in full (:class:`~jsonvec.storage.stdout.StdoutWriter`)."""
    StdoutWriter().write_lines(list(lines))


def echo_json(items: Iterable[Any]) -> None:
    """Print one JSON object per line on stdout, in full, a few hundred at a time."""
    out = StdoutWriter()
    batch: list[bytes] = []
    for item in items:
        batch.append(orjson.dumps(item))
        if len(batch) == 256:
            out.write_lines(batch)
            batch = []
    if batch:
        out.write_lines(batch)


def is_quiet() -> bool:
    """Whether the running command was given ``-q``."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_QUIET))


def notice(message: str) -> None:
    """A line for people on stderr (a summary, a warning, a hint), unless ``-q`` was given.
    Errors are never silenced: they are not notices."""
    if not is_quiet():
        with contextlib.suppress(OSError):
            click.echo(message, err=True)


def warn(message: str) -> None:
    """A warning on stderr (``jsonvec: warning: ...``), unless ``-q`` was given."""
    notice(f"jsonvec: warning: {message}")


def plural(count: int, noun: str) -> str:
    """``1 record``, ``2 records``, ``1,024 records``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def load(path: str | None) -> Codebook:
    """The codebook at ``path``, or the built-in default."""
    return load_codebook(path) if path is not None else default_codebook()


def vectors_codebook(
    collection: Collection, codebook_path: str | None, *, queries: bool = True
) -> Codebook:
    """The codebook to encode queries of stored vectors with: their own, or ``--codebook``
    if it is the one that encoded them (checked whenever it is given). ``queries`` says
    whether it will encode any (the warning that the vectors do not name their codebook is
    only for then)."""
    book = load_codebook(codebook_path) if codebook_path else None
    if collection.fingerprint is None and queries:
        named = codebook_path or "the built-in codebook"
        warn(
            f"{collection.files[0].path} does not say which codebook encoded it; the queries "
            f"use {named}"
        )
    return collection.query_codebook(book, codebook_path or "")


# -- options declared once


class InputPath(click.Path):
    """A path a command reads: a file, ``-`` for stdin, or (where the command says) a
    folder or a glob pattern."""

    def __init__(self) -> None:
        super().__init__(allow_dash=True)


class OutputPath(click.Path):
    """A path a command writes. Every one is named to the guard (:mod:`jsonvec.storage.guard`)
    with what the command reads, before anything is read or written; ``tests/storage/test_guard.py``
    tries every option of this type in every command."""

    def __init__(self) -> None:
        super().__init__(allow_dash=True)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _remember_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[_QUIET] = value
    return value


quiet_option: Decorator = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    callback=_remember_quiet,
    help="No progress, summary, hint or warning on stderr (errors are still printed).",
)


def codebook_option(help: str) -> Decorator:
    """``--codebook FILE``; ``help`` says what it is for in the command."""
    return click.option("--codebook", "codebook_path", type=InputPath(), metavar="FILE", help=help)


#: --codebook of the commands that read stored vectors
VECTORS_CODEBOOK_HELP = (
    "The codebook of the vectors [default: rebuilt from their metadata]; a file given must "
    "be the one that encoded them."
)


def number_option(default: int, help: str) -> Decorator:
    """``-n/--number N``: how many results, at least 1."""
    return click.option(
        "-n",
        "--number",
        default=default,
        show_default=True,
        type=click.IntRange(1),
        metavar="N",
        help=help,
    )


plain_option: Decorator = click.option(
    "--plain", is_flag=True, help="An aligned table for people instead of JSON Lines."
)


class Score(click.FloatRange):
    """A similarity score: a number from -1 to 1 (cosines and field scores lie there)."""

    name = "score"

    def __init__(self) -> None:
        super().__init__(-1.0, 1.0)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super(click.FloatRange, self).convert(value, param, ctx)
        if isinstance(number, float) and math.isnan(number):
            self.fail("nan is not a score: give a number from -1 to 1", param, ctx)
        return super().convert(number, param, ctx)


threshold_option: Decorator = click.option(
    "--threshold",
    type=Score(),
    metavar="S",
    help="Only hits scoring at least S (from -1 to 1).",
)


input_format_option: Decorator = click.option(
    "--input-format",
    type=click.Choice(INPUT_FORMATS),
    help="How to read record files: jsonl (one record per line) or json (one JSON document: "
    "the elements of a top-level array, or each top-level value) [default: json for names "
    "ending in .json or .json.gz, else jsonl].",
)


def engine_options(what: str) -> Decorator:
    """``--engine local|dask`` and ``--scheduler ADDRESS``; ``what`` tells what the dask
    engine does."""
    engine = click.option(
        "--engine",
        type=click.Choice(["local", "dask"]),
        default="local",
        show_default=True,
        help=f"dask: {what} on a Dask cluster (the 'dask' extra).",
    )
    scheduler = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="With --engine dask: the cluster's scheduler (tcp://host:8786) [default: a "
        "local cluster of this machine's cores, closed after the run].",
    )
    return lambda command: engine(scheduler(command))


def check_path(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: refuse a malformed path as a usage error."""
    if value is not None:
        try:
            parse_path(value)
        except PathError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value
