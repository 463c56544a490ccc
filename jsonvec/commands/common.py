"""Options, helpers and exit statuses shared by several commands."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

from jsonvec.codebook import Codebook, default_codebook
from jsonvec.codebook_file import load_codebook
from jsonvec.errors import JsonvecError, OutputError, PathError, UsageError
from jsonvec.paths import parse_path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # 128 + SIGPIPE, as for cat, grep and any program killed by SIGPIPE
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """Raised from the SIGTERM handler so that cleanup runs as for Ctrl-C."""


#: exit statuses by kind of error, the first match counts; any other error is EXIT_ERROR
_STATUSES: tuple[tuple[tuple[type[BaseException], ...], int], ...] = (
    ((UsageError, click.UsageError), EXIT_USAGE),
    ((Terminated,), EXIT_TERMINATED),
    ((KeyboardInterrupt,), EXIT_INTERRUPTED),
    ((BrokenPipeError,), EXIT_PIPE),
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


def error_message(exc: BaseException) -> str | None:
    """The one line a command prints for ``exc`` (None for a closed pipe: it prints none)."""
    if isinstance(exc, Terminated):
        return "terminated"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, click.UsageError):
        return exc.format_message()
    if isinstance(exc, JsonvecError):
        return str(exc)
    return None


def silence_stdout() -> None:
    """Point stdout at /dev/null: what could not be written is lost, and Python's own flush
    at exit must not fail again (it would print a traceback and exit 120)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def stdout_error(exc: OSError) -> Exception:
    """An error writing stdout: a closed pipe stays itself, anything else is one line."""
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return BrokenPipeError(exc.errno, exc.strerror)
    return OutputError(f"stdout: cannot write: {exc.strerror or exc}")


@contextlib.contextmanager
def writing_stdout() -> Iterator[None]:
    """Turn failed writes to stdout (a full disk, a closed pipe) into jsonvec's errors."""
    try:
        yield
        sys.stdout.flush()
    except OSError as exc:
        raise stdout_error(exc) from exc


def echo_lines(lines: Iterable[str]) -> None:
    """Print lines of text on stdout, failing cleanly if stdout cannot take them."""
    with writing_stdout():
        for line in lines:
            click.echo(line)


def plural(count: int, noun: str) -> str:
    """``1 record``, ``2 records``, ``1,024 records``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def load(path: str | None) -> Codebook:
    """The codebook at ``path``, or the built-in default."""
    return load_codebook(path) if path is not None else default_codebook()


codebook_option = click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(dir_okay=False),
    help="Codebook file (default: the built-in codebook, dim 1024, seed 0).",
)


def engine_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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
