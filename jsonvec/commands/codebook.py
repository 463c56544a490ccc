"""``jsonvec codebook new``, ``fit`` and ``info``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import click
import orjson

from jsonvec.codebook import DEFAULT_DIM, DEFAULT_SEED, Codebook
from jsonvec.codebook_file import save_codebook
from jsonvec.commands.common import load
from jsonvec.errors import CodebookError, InvalidLineError
from jsonvec.fit import fit_settings
from jsonvec.paths import PathError
from jsonvec.reader import parse_line, read_lines
from jsonvec.settings import Settings


@click.group()
def codebook() -> None:
    """Create and inspect codebook files."""


def _parse_params(values: tuple[str, ...], option: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        # a setting's name has no "=", a weight's value has none either
        name, sep, raw = item.partition("=") if option == "--param" else item.rpartition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
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
@click.option("--ignore-field", multiple=True, help="Path of a value to leave out.")
@click.option("--field-weight", multiple=True, help="PATH=W: weight of a value among its siblings.")
@click.option("--param", multiple=True, help="Any setting as NAME=VALUE (see codebook info).")
def codebook_new(
    output: str,
    dim: int,
    seed: int,
    set_array: tuple[str, ...],
    ignore_field: tuple[str, ...],
    field_weight: tuple[str, ...],
    param: tuple[str, ...],
) -> None:
    """Write a new codebook file.

    A codebook fixes the dimension, the seed and every setting of the representation; the
    same codebook file gives bit-identical vectors on every machine.

    Example:

    \b
        jsonvec codebook new -o people.codebook --dim 2048 --seed 42 --set-array tags
        jsonvec codebook new -o cb --ignore-field request_id --field-weight name=2
        jsonvec codebook new -o cb --param number_exact_weight=0.3
    """
    params = _parse_params(param, "--param")
    if set_array:
        params["set_arrays"] = list(set_array)
    if ignore_field:
        params["ignore_fields"] = list(ignore_field)
    if field_weight:
        params["field_weights"] = _parse_params(field_weight, "--field-weight")
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
    book = load(path)
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


@codebook.command("fit")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--from", "base_path", type=click.Path(dir_okay=False), help="Start from this codebook."
)
@click.option("--dim", type=int, help=f"Dimension (default: the base's, or {DEFAULT_DIM}).")
@click.option("--seed", type=int, help=f"Seed (default: the base's, or {DEFAULT_SEED}).")
@click.option("--skip-invalid", is_flag=True, help="Skip invalid lines instead of stopping.")
def codebook_fit(
    inputs: tuple[str, ...],
    output: str,
    base_path: str | None,
    dim: int | None,
    seed: int | None,
    skip_invalid: bool,
) -> None:
    """Learn field weights from sample records and write a codebook.

    Fields whose values are the same in most records (a constant "type", a shared domain)
    get less weight, fields whose values tell records apart keep full weight; see
    docs/method.md. Settings of the base codebook (--from) are kept, including weights you
    set yourself. INPUTS are JSON Lines files (gzip too) or - for stdin.

    Example:

    \b
        jsonvec codebook fit sample.jsonl -o fitted.codebook
        jsonvec encode data.jsonl -o vectors.parquet --codebook fitted.codebook
    """
    base = load(base_path)
    settings = fit_settings(_records(inputs, skip_invalid), base.settings)
    try:
        book = Codebook(
            dim=base.dim if dim is None else dim,
            seed=base.seed if seed is None else seed,
            settings=settings,
        )
    except CodebookError as exc:
        raise click.UsageError(str(exc)) from exc
    save_codebook(book, output)
    learnt = len(settings.field_weights)
    click.echo(
        f"jsonvec: wrote codebook {book.fingerprint} to {output} ({learnt} field weights)",
        err=True,
    )


def _records(inputs: tuple[str, ...], skip_invalid: bool) -> Iterator[Any]:
    for line in read_lines(inputs):
        if line.is_blank:
            continue
        try:
            yield parse_line(line)
        except InvalidLineError:
            if not skip_invalid:
                raise
