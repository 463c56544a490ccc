"""The ``jsonvec`` command line: a thin layer over the library.

Exit statuses: 0 success, 1 data or runtime error (one ``Error: ...`` line on stderr),
2 usage error, 130 interrupted (SIGINT), 141 stdout closed by its reader (as for a program
killed by SIGPIPE, ``cat`` or ``grep``), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
from typing import Any

import click

from jsonvec.commands.common import exit_status, printed_message, silence_stdout
from jsonvec.encoding.encoder import implementation
from jsonvec.errors import JsonvecError, PipeClosedError
from jsonvec.version import __version__

#: each command and the module that defines it, imported when the command runs (a run of
#: ``encode`` to .npy never loads what ``similar`` or Parquet need)
COMMANDS = {
    "codebook": "jsonvec.commands.codebook",
    "encode": "jsonvec.commands.encode",
    "index": "jsonvec.commands.index",
    "info": "jsonvec.commands.info",
    "probe": "jsonvec.commands.probe",
    "similar": "jsonvec.commands.similar",
}


class JsonvecGroup(click.Group):
    """Loads its commands when used, and maps jsonvec's errors to one line on stderr and an
    exit status: the only place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (JsonvecError, KeyboardInterrupt, BrokenPipeError) as exc:
            # what stdout still holds may not be writable: it must not fail again at exit
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                silence_stdout()
            if isinstance(exc, BrokenPipeError | PipeClosedError):
                silence_stdout()  # the reader went away (`| head`): end quietly
            message = printed_message(exc)
            if message is not None:
                with contextlib.suppress(OSError):
                    click.echo(f"Error: {message}", err=True)
            ctx.exit(exit_status(exc))


@click.group(cls=JsonvecGroup)
@click.version_option(
    __version__, prog_name="jsonvec", message=f"%(prog)s %(version)s ({implementation()})"
)
def cli() -> None:
    """Turn JSON records into vectors that are similar when the records are.

    In every command: -q/--quiet silences progress, summaries, hints and warnings (never
    errors); a file the command would write over a file it reads (an input, a vectors file
    or its sidecars, a codebook) is refused before anything is read or written; stdout is
    written in full. Exit statuses: 0 done, 1 data or runtime error (one "Error:" line), 2
    usage error, 130/143 interrupted or terminated, 141 stdout closed by its reader.

    Example:

    \b
        jsonvec encode records.jsonl -o vectors.parquet
        jsonvec similar vectors.parquet '{"name": "Ann", "city": "Paris"}'
        jsonvec codebook new -o my.codebook --dim 2048 --seed 7
    """


def main() -> None:
    """Console-script entry point."""
    if hasattr(signal, "SIGXFSZ"):
        # past a file-size limit, a write should fail (and be reported), not kill the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    cli(prog_name="jsonvec")
