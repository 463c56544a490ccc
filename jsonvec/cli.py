"""The ``jsonvec`` command line: a thin layer over the library.

Exit statuses: 0 success, 1 data or runtime error (one ``Error: ...`` line on stderr),
2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import click

from jsonvec.commands.codebook import codebook
from jsonvec.commands.encode import Terminated, encode
from jsonvec.commands.similar import index, similar
from jsonvec.errors import JsonvecError
from jsonvec.version import __version__

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


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


cli.add_command(encode)
cli.add_command(codebook)
cli.add_command(similar)
cli.add_command(index)


def main() -> None:
    """Console-script entry point."""
    if hasattr(signal, "SIGXFSZ"):
        # past a file-size limit, a write should fail (and be reported), not kill the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    cli(prog_name="jsonvec")
