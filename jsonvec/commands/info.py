"""``jsonvec info``: what vectors files and folders hold, one summary each."""

from __future__ import annotations

from typing import Any

import click

from jsonvec.commands.common import InputPath, echo_json, echo_lines, plural, quiet_option
from jsonvec.errors import JsonvecError
from jsonvec.search.ann import index_state
from jsonvec.storage.collection import Collection
from jsonvec.storage.guard import Named, check_files, reads
from jsonvec.storage.summary import CHECKSUM_STATES, failure, summary


@click.command()
@click.argument("vectors", nargs=-1, required=True)
@click.option(
    "--index",
    "index_path",
    type=InputPath(),
    metavar="INDEX",
    help="An ANN index (jsonvec index build): say whether it answers for each of VECTORS.",
)
@click.option("--check", is_flag=True, help="Read every vector and compare its checksum now.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per VECTORS, for scripts.")
@quiet_option
@click.pass_context
def info(
    ctx: click.Context, vectors: tuple[str, ...], index_path: str | None, check: bool,
    as_json: bool, quiet: bool,
) -> None:  # fmt: skip
    """Say what each of VECTORS (a file, a folder of parts, or a glob) holds: rows, dim,
    dtype, codebook, encoding rules, ids, records, parts, bytes, the state of its checksums
    and, with --index, of an index over it.

    Checksums: "verified" (every vector's CRC-32 matched when last read in full, and no file
    changed since), "unverified" (not read in full since written or changed: --check reads
    it now) or "none" (none stored). One that cannot be read is said on the line of its own
    summary ("error"), and the exit status is then 1.

    Example:

    \b
        jsonvec info vectors/
        jsonvec info vectors/ --index vectors/index.usearch --check
        jsonvec info 'daily/*.parquet' --json | jq .rows
    """
    opened: dict[str, Collection | JsonvecError] = {}
    for name in vectors:
        try:
            opened[name] = Collection.open([name])
        except JsonvecError as exc:
            opened[name] = exc
    # nothing it reads is where its stdout goes (`>> v.jsonl`): refused before a word is said
    read = [n for c in opened.values() if isinstance(c, Collection) for n in c.read_files()]
    check_files(read + (reads([index_path], "index") if index_path else []),
                [Named("output", "-")])  # fmt: skip
    found = [_summary(name, opened[name], index_path, check) for name in vectors]
    if as_json:
        echo_json(found)
    else:
        echo_lines(line for entry in found for line in _lines(entry))
    if any("error" in entry for entry in found):
        ctx.exit(1)


def _summary(
    name: str, opened: Collection | JsonvecError, index_path: str | None, check: bool
) -> dict[str, Any]:
    if isinstance(opened, JsonvecError):
        return failure(name, opened)
    try:
        entry = summary(opened, name, check=check)
    except JsonvecError as exc:
        return failure(name, exc)
    if index_path is not None:
        entry["index"] = index_state(opened, index_path)
    return entry


def _lines(entry: dict[str, Any]) -> list[str]:
    if "error" in entry:
        return [f"{entry['path']}: error: {entry['error']}"]
    parts = f"{plural(entry['parts'], 'part')} " if entry["folder"] else ""
    params = entry["codebook_params"] or {}
    seed = f" (seed {params['seed']}, {params.get('family', '')})" if "seed" in params else ""
    lines = [
        f"{entry['path']}: {parts}{', '.join(entry['formats'])}",
        f"  rows      {entry['rows']:,} of dim {entry['dim']}, {entry['dtype']}",
        f"  codebook  {entry['codebook'] or '(not said)'}{seed}, encoding {entry['encoding']}",
        f"  ids       {entry['id_type']}; records {'kept' if entry['records'] else 'not kept'}",
        f"  bytes     {entry['bytes']:,}",
        f"  checksum  {entry['checksum']}: {CHECKSUM_STATES[entry['checksum']]}",
    ]
    index = entry.get("index")
    if index is not None:
        state = index["state"]
        if state == "behind":
            state += f": {index['added']:,} rows added since it was built (jsonvec index update)"
        elif state == "unusable":
            state += f": {index['error']}"
        lines.append(f"  index     {index['path']}: {state}")
    return lines
