"""``jsonvec codebook new``, ``fit`` and ``info``."""

from __future__ import annotations

import os
from typing import Any

import click
import orjson

from jsonvec.codebook.codebook import DEFAULT_DIM, DEFAULT_SEED, MAX_DIM, MIN_DIM, Codebook
from jsonvec.codebook.files import save_codebook
from jsonvec.codebook.fit import fit_codebook
from jsonvec.codebook.settings import Settings
from jsonvec.commands.common import (
    InputPath,
    OutputPath,
    echo_lines,
    input_format_option,
    load,
    notice,
    plural,
    quiet_option,
)
from jsonvec.encoding.encoder import COMPILED, implementation
from jsonvec.errors import CodebookError, PathError
from jsonvec.records.reader import expand_inputs
from jsonvec.storage.guard import Named, check_files, reads

DIM_HELP = (
    f"Length of the vectors: a multiple of 8 from {MIN_DIM} to {MAX_DIM}; more dimensions "
    "keep more detail of wide records and cost more space and time."
)
SEED_HELP = "Any integer from 0 to 2**64-1; every random choice of the codebook derives from it."


output_option = click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(),
    metavar="FILE",
    help="The codebook file to write.",
)


@click.group()
def codebook() -> None:
    """Create, fit and inspect codebook files.

    A codebook file holds the dimension, the seed and every setting of the representation;
    the same file gives bit-identical vectors on every machine.

    Example:

    \b
        jsonvec codebook new -o people.codebook --dim 2048 --seed 42
        jsonvec codebook fit sample.jsonl -o fitted.codebook --from people.codebook
        jsonvec codebook info fitted.codebook
        jsonvec encode people.jsonl -o people.parquet --codebook fitted.codebook
    """


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
@output_option
@click.option("--dim", type=int, default=DEFAULT_DIM, show_default=True, help=DIM_HELP)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help=SEED_HELP)
@click.option(
    "--set-array", multiple=True, metavar="PATH", help="An array to treat as a set (tags)."
)
@click.option(
    "--ignore-field", multiple=True, metavar="PATH", help="A value to leave out (meta.ts)."
)
@click.option(
    "--field-weight",
    multiple=True,
    metavar="PATH=W",
    help="Weight of the value at PATH among its siblings (default 1).",
)
@click.option(
    "--param",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any setting, VALUE as JSON (codebook info lists them).",
)
@quiet_option
def codebook_new(
    output: str,
    dim: int,
    seed: int,
    set_array: tuple[str, ...],
    ignore_field: tuple[str, ...],
    field_weight: tuple[str, ...],
    param: tuple[str, ...],
    quiet: bool,
) -> None:
    """Write a new codebook file.

    A codebook fixes the dimension, the seed and every setting of the representation; the
    same codebook file gives bit-identical vectors on every machine. PATHs are keys joined
    by dots (user.name), with [N] for an array element and [] for every element (items[].sku);
    escape . [ ] \\ in a key with \\.

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
    check_files([], [Named("output", output)])
    save_codebook(book, output)
    notice(f"jsonvec: wrote codebook {book.fingerprint} to {output}")


@codebook.command("info")
@click.argument("path", required=False, type=InputPath())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for machines.")
@quiet_option
def codebook_info(path: str | None, as_json: bool, quiet: bool) -> None:
    """Show a codebook's parameters, fingerprint and size (no PATH: the built-in one).

    Example:

    \b
        jsonvec codebook info people.codebook
        jsonvec codebook info people.codebook --json | jq .settings
    """
    check_files(reads([path] if path else [], "codebook"), [Named("output", "-")])
    book = load(path)
    size = os.path.getsize(path) if path else None
    if as_json:
        info = {"path": path, "fingerprint": book.fingerprint, "size_bytes": size,
                "encoder": "compiled" if COMPILED else "python"}  # fmt: skip
        echo_lines([orjson.dumps({**info, **book.params()}).decode()])
        return
    echo_lines(info_table(book, path, size))


def info_table(book: Codebook, path: str | None, size: int | None) -> list[str]:
    """A codebook described for people: one aligned line per parameter and setting."""
    params = book.params()
    settings = params.pop("settings")
    where = f"{path} ({size:,} bytes)" if path else "the built-in default"
    rows = [("codebook", where), ("fingerprint", book.fingerprint)]
    rows += [(name, _readable(value)) for name, value in params.items()]
    lines = [f"{name:<14}{value}" for name, value in rows]
    lines += ["settings"] + [f"  {name:<22}{_readable(value)}" for name, value in settings.items()]
    return [*lines, f"{'encoder':<14}{implementation()}"]


def _readable(value: Any) -> str:
    """A setting's value as people write it: 0.5; a, b; name=2; (none)."""
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        pairs = (f"{k}={_readable(v)}" for k, v in value.items())
        return ", ".join(pairs) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@codebook.command("fit")
@click.argument("inputs", nargs=-1, required=True, type=InputPath())
@output_option
@click.option("--from", "base_path", type=InputPath(), help="Start from this codebook.")
@click.option("--dim", type=int, help=f"{DIM_HELP[:-1]} [default: the base's, or {DEFAULT_DIM}].")
@click.option(
    "--seed", type=int, help=f"{SEED_HELP[:-1]} [default: the base's, or {DEFAULT_SEED}]."
)
@click.option("--skip-invalid", is_flag=True, help="Skip invalid lines instead of stopping.")
@input_format_option
@quiet_option
def codebook_fit(
    inputs: tuple[str, ...],
    output: str,
    base_path: str | None,
    dim: int | None,
    seed: int | None,
    skip_invalid: bool,
    input_format: str | None,
    quiet: bool,
) -> None:
    """Learn field weights from sample records and write a codebook.

    Fields whose values are the same in most records (a constant "type", a shared domain)
    get less weight, fields whose values tell records apart keep full weight; see
    docs/method.md. Settings of the base codebook (--from) are kept, including weights you
    set yourself. INPUTS are read as `jsonvec encode` reads them: JSON Lines files (gzip
    too), .json documents, folders, quoted globs, or - for stdin. An output that is one of
    them (or the --from codebook) is refused before anything is read.

    Example:

    \b
        jsonvec codebook fit sample.jsonl -o fitted.codebook
        jsonvec encode data.jsonl -o vectors.parquet --codebook fitted.codebook
    """
    paths = expand_inputs(inputs)
    read = reads(paths) + reads([base_path] if base_path else [], "codebook")
    check_files(read, [Named("output", output)])
    try:
        book, counts = fit_codebook(
            paths, base=load(base_path), dim=dim, seed=seed, skip_invalid=skip_invalid,
            input_format=input_format,
        )  # fmt: skip
    except CodebookError as exc:
        raise click.UsageError(str(exc)) from exc
    save_codebook(book, output)
    learnt = len(book.settings.field_weights)
    skipped = f"; skipped {plural(counts.invalid, 'invalid line')}" if counts.invalid else ""
    notice(
        f"jsonvec: wrote codebook {book.fingerprint} to {output} "
        f"({plural(learnt, 'field weight')}, learnt from "
        f"{plural(counts.records, 'record')}{skipped})"
    )
