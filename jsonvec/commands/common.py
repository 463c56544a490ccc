"""Options and helpers shared by several commands."""

from __future__ import annotations

from typing import Any

import click

from jsonvec.codebook import Codebook, default_codebook
from jsonvec.codebook_file import load_codebook
from jsonvec.paths import PathError, parse_path


def load(path: str | None) -> Codebook:
    """The codebook at ``path``, or the built-in default."""
    return load_codebook(path) if path is not None else default_codebook()


codebook_option = click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(dir_okay=False),
    help="Codebook file (default: the built-in codebook, dim 1024, seed 0).",
)


def check_path(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: refuse a malformed path as a usage error."""
    if value is not None:
        try:
            parse_path(value)
        except PathError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value
