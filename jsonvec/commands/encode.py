"""``jsonvec encode``: JSON Lines in, vectors out."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import click
import orjson

from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.interrupts import noted
from jsonvec.commands.common import (
    InputPath,
    OutputPath,
    Terminated,
    check_path,
    codebook_option,
    engine_options,
    error_message,
    exit_status,
    input_format_option,
    load,
    notice,
    plural,
    quiet_option,
)
from jsonvec.encoding.encoder import Encoder
from jsonvec.records.reader import STDIN, check_files, expand_inputs
from jsonvec.run.batches import default_jobs
from jsonvec.run.encode_file import encode_to
from jsonvec.run.options import EncodeOptions, EncodeSummary, check_options, check_outputs
from jsonvec.run.stream import Inputs, rejects_file
from jsonvec.storage.appending import is_folder_target
from jsonvec.storage.dtypes import DTYPES, Dtype
from jsonvec.storage.stdout import StdoutWriter

ID_FIELD_HELP = (
    "Take each record's id from this path: user.id for a nested key, items[0] for an array "
    "element; escape . [ ] \\ in a key with \\ (a\\.b is the key 'a.b'). String or integer "
    "values. Without it, ids are record positions."
)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@click.command()
@click.argument("inputs", nargs=-1, type=InputPath())
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(),
    help="OUTPUT.parquet, OUTPUT.npy, OUTPUT.jsonl, - for stdout, or FOLDER/ with --append "
    "or --engine dask.",
)
@codebook_option("Codebook file (default: the built-in codebook, dim 1024, seed 0).")
@input_format_option
@click.option("--id-field", callback=check_path, metavar="PATH", help=ID_FIELD_HELP)
@click.option("--skip-invalid", is_flag=True, help="Skip and count invalid lines.")
@click.option(
    "--max-invalid",
    type=click.IntRange(0),
    metavar="N",
    help="Skip invalid lines, but fail (exit 1, no output) once more than N were invalid.",
)
@click.option(
    "--rejects",
    type=OutputPath(),
    metavar="FILE",
    help="Copy invalid lines to FILE, byte for byte (with --skip-invalid or --max-invalid).",
)
@click.option(
    "--keep-records", is_flag=True, help="Store each record's JSON text too (.parquet only)."
)
@click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default="float32",
    show_default=True,
    help="Store the vectors as float32, float16 (half the size) or int8 (a quarter; each "
    "row scaled to its largest value), in .parquet or .npy; every reader takes each.",
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
@click.option(
    "--summary",
    "summary_path",
    type=OutputPath(),
    metavar="FILE",
    help="Write one JSON object about the run to FILE (counts, output, seconds, exit "
    "status), also when it fails (but not for a usage error).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    metavar="N",
    default=1024,
    show_default=True,
    help="Records encoded and written together (one Parquet row group), fewer when they "
    "hold over 1 MiB of lines; more takes more memory. Vectors do not depend on it.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1),
    metavar="N",
    help="Processes that encode: this one and N-1 workers [default: all cores]; the output "
    "is the same for any number.",
)
@engine_options(
    "encode into a folder OUTPUT/ of Parquet parts and a manifest, with the "
    "vectors, ids and bad-line rules of a local run,"
)
@click.option(
    "--partition-size",
    metavar="SIZE",
    default="64MB",
    show_default=True,
    help="With --engine dask: at most this much input per partition and part, as many as "
    "fill whole rounds of the workers (gzip inputs are one partition each).",
)
@quiet_option
def encode(
    inputs: tuple[str, ...],
    output: str,
    codebook_path: str | None,
    input_format: str | None,
    id_field: str | None,
    skip_invalid: bool,
    max_invalid: int | None,
    rejects: str | None,
    keep_records: bool,
    dtype: Dtype,
    append: bool,
    skip_existing: bool,
    summary_path: str | None,
    batch_size: int,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    partition_size: str,
    quiet: bool,
) -> None:
    """Encode JSON records (files, .gz, folders, globs, or stdin) into vectors.

    INPUTS are JSON Lines files, gzip-compressed or not; a file named *.json (or *.json.gz)
    is one JSON document instead, whose records are the elements of its top-level array (or
    each top-level value: one pretty-printed object is one record); --input-format
    jsonl|json overrides the choice by name. A folder gives its .jsonl, .ndjson and .json
    files (and their .gz), a quoted glob its matches, both in name order; - or no INPUTS
    reads stdin (JSON Lines, unless --input-format json).

    The output format follows the name of OUTPUT: .parquet, .npy (with NAME.npy.ids and
    NAME.npy.meta beside it), .jsonl, or - for JSON Lines on stdout; --keep-records stores
    each record's JSON text in the Parquet file for `similar --records`. Files are written
    atomically: a failed run leaves no partial output and keeps the previous one. An output
    (or --rejects, --summary) that is an input, the codebook or another output, or that
    cannot be written where it is named, is refused before anything is read.

    An invalid line stops the run with FILE:LINE: reason and exit status 1, writing nothing;
    with --skip-invalid it is counted (and copied to --rejects) and the run goes on.

    --append adds to OUTPUT; positional ids go on from the largest already there, and a run
    with nothing new writes nothing. Exit statuses: 0 done, 1 data or runtime error, 2 usage
    error, 130/143 interrupted or terminated, 141 stdout closed by its reader.

    Example:

    \b
        jsonvec encode tweets.jsonl.gz -o tweets.parquet --id-field id_str
        cat exports/*.jsonl | jsonvec encode -o vectors.npy --skip-invalid --rejects bad.jsonl
        jsonvec encode feed.jsonl -o feed.parquet --max-invalid 100 --rejects bad.jsonl
        jsonvec encode big.jsonl.gz -o big.parquet --jobs 2 --dtype float16
        jsonvec encode today.jsonl -o vectors/ --append --skip-existing --id-field id \\
            --summary run.json
        jsonvec encode 'lake/*.jsonl.gz' -o vectors/ --engine dask --scheduler tcp://s:8786
    """
    started = time.perf_counter()
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    dask = engine == "dask"
    paths = expand_inputs(inputs)
    options = EncodeOptions(
        id_field=id_field,
        skip_invalid=skip_invalid,
        keep_records=keep_records,
        batch_size=batch_size,
        jobs=jobs if jobs else default_jobs(),
        max_invalid=max_invalid,
        append=append,
        skip_existing=skip_existing,
        dtype=dtype,
    )
    _check_usage(paths, output, options, rejects, summary_path, dask, codebook_path)
    out = StdoutWriter()
    report = _SummaryFile(summary_path, started, rejects, output)  # opened now, written at the end
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with noted():
            if dask:
                settings = _dask_settings(jobs, scheduler, partition_size)
                summary = _on_dask(paths, output, load(codebook_path), options, rejects,
                                   settings, quiet, input_format)  # fmt: skip
            else:
                sources = Inputs(paths or [STDIN], fmt=input_format)
                summary = _run(sources, output, load(codebook_path), options, rejects, quiet, out)
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the run's own error is the one to report
            report.write(None, exc, out.lines if output == "-" else 0)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    report.write(summary, None, summary.records)
    _report(summary, output, rejects)


@dataclass(frozen=True)
class _DaskSettings:
    scheduler: str | None
    partition_size: int


def _dask_settings(jobs: int | None, scheduler: str | None, size: str) -> _DaskSettings:
    """The options of ``--engine dask``, checked (the extra must be installed)."""
    if jobs is not None:
        raise click.UsageError("--jobs does not work with --engine dask: the cluster's "
                               "workers encode (--scheduler)")  # fmt: skip
    try:
        from dask.utils import parse_bytes  # noqa: PLC0415 - the extra
    except ImportError as exc:
        raise click.UsageError(
            "--engine dask needs the 'dask' extra: pip install 'jsonvec[dask]'"
        ) from exc
    try:
        return _DaskSettings(scheduler, int(parse_bytes(size)))
    except ValueError as exc:
        raise click.BadParameter(
            f"{size!r}: a size such as 64MB or 1GiB", param_hint="--partition-size"
        ) from exc


def _on_dask(
    inputs: list[str],
    output: str,
    codebook: Any,
    options: EncodeOptions,
    rejects: str | None,
    settings: _DaskSettings,
    quiet: bool,
    input_format: str | None,
) -> EncodeSummary:
    """``--engine dask``: the run on a cluster (:func:`jsonvec.dask.encode_files`)."""
    from jsonvec.dask import connect, encode_files  # noqa: PLC0415 - the extra

    check_files(inputs)  # before a cluster is started or reached
    shown = not quiet and sys.stderr.isatty()
    with connect(settings.scheduler) as client:
        if shown:
            _dashboard(client)
        return encode_files(
            inputs, output, codebook, id_field=options.id_field,
            keep_records=options.keep_records, skip_invalid=options.skip_invalid,
            max_invalid=options.max_invalid, rejects=rejects, append=options.append,
            skip_existing=options.skip_existing, dtype=options.dtype,
            partition_size=settings.partition_size,
            batch_size=options.batch_size, client=client, progress=shown,
            input_format=input_format,
        )  # fmt: skip


def _dashboard(client: Any) -> None:
    """Tell where the cluster's dashboard is, if it has one."""
    with contextlib.suppress(Exception):  # no dashboard, or no link to it
        link = client.dashboard_link
        if link and client.scheduler_info().get("services", {}).get("dashboard"):
            notice(f"jsonvec: Dask dashboard: {link}")


def _check_usage(
    inputs: list[str],
    output: str,
    options: EncodeOptions,
    rejects: str | None,
    summary_path: str | None,
    dask: bool,
    codebook_path: str | None,
) -> None:
    if dask:
        _check_dask_usage(inputs, output)
    if not inputs and sys.stdin.isatty():
        raise click.UsageError("no input: give INPUT files, or pipe JSON Lines to stdin")
    check_options(output, options, rejects=rejects, folder=dask)
    check_outputs(inputs, output, options, rejects=rejects, summary=summary_path, folder=dask,
                  codebook=codebook_path)  # fmt: skip


def _check_dask_usage(inputs: list[str], output: str) -> None:
    if not inputs or STDIN in inputs:
        raise click.UsageError("--engine dask reads files (a cluster cannot read this stdin)")
    if not is_folder_target(output):
        raise click.UsageError(
            f"--engine dask writes a folder of parts: name it OUTPUT/ (got {output!r})"
        )


def _run(
    sources: Inputs,
    output: str,
    codebook: Any,
    options: EncodeOptions,
    rejects: str | None,
    quiet: bool,
    out: StdoutWriter,
) -> EncodeSummary:
    encoder = Encoder(codebook)
    with rejects_file(rejects) as rejects_stream, _progress(sources.paths, quiet) as progress:
        return encode_to(
            output,
            Inputs(sources.paths, progress, sources.fmt),
            encoder,
            options,
            stdout=out,
            rejects=rejects_stream,
            on_wait=_waiting(output),
        )


def _waiting(output: str) -> Callable[[], None]:
    def say() -> None:
        notice(f"jsonvec: waiting for another run appending to {output}")

    return say


@contextlib.contextmanager
def _progress(sources: Sequence[str], quiet: bool) -> Iterator[Callable[[int], Any] | None]:
    """A progress bar on a terminal's stderr, fed with bytes read; None where none shows."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm  # noqa: PLC0415 - only for a terminal

    sizes = [os.path.getsize(s) if s != STDIN and os.path.isfile(s) else None for s in sources]
    total = None if None in sizes else sum(s for s in sizes if s is not None)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc="encoding",
        file=sys.stderr,
        leave=False,
    )
    try:
        yield bar.update
    finally:
        bar.close()


class _SummaryFile:
    """``--summary FILE``: opened before the run starts, so that a place it cannot be written
    stops the run before anything is (a committed append would be repeated by a retry);
    written when the run ends, however it ends."""

    def __init__(self, path: str | None, started: float, rejects: str | None, output: str) -> None:
        self._file = AtomicFile(path) if path is not None else None
        self._started = started
        self._rejects = rejects
        self._output = output

    def write(
        self, summary: EncodeSummary | None, failure: BaseException | None, written: int
    ) -> None:
        """The run as one JSON object; ``written`` counts the records whose lines reached
        stdout in full (those of an output file only count once it is in place)."""
        if self._file is None:
            return
        counts = (summary or EncodeSummary()).as_json()
        counts["records"] = written
        if summary is None and written:  # lines on stdout stay written
            counts["output"] = self._output
        counts["seconds"] = round(time.perf_counter() - self._started, 3)
        document = {
            "status": exit_status(failure),
            "error": None if failure is None else error_message(failure),
            **counts,
            # written only by a run that ends well
            "rejects": self._rejects if summary is not None else None,
        }
        with self._file as handle:
            handle.file.write(orjson.dumps(document) + b"\n")


def _report(summary: EncodeSummary, output: str, rejects: str | None) -> None:
    target = "stdout" if output == "-" else summary.output or output
    if summary.output is None and output != "-":
        parts = [f"no new records in {summary.seconds:.2f} s; wrote nothing, {output} is unchanged"]
    else:
        parts = [
            f"encoded {plural(summary.records, 'record')} in {summary.seconds:.2f} s "
            f"({summary.rate:,.0f} records/s) -> {target}"
        ]
    if summary.invalid:
        where = f" (copied to {rejects})" if rejects else ""
        parts.append(f"skipped {plural(summary.invalid, 'invalid line')}{where}")
    if summary.blank:
        parts.append(f"ignored {plural(summary.blank, 'blank line')}")
    if summary.existing:
        parts.append(f"left out {plural(summary.existing, 'record')} already in {output}")
    if summary.repeated:
        noun = plural(summary.repeated, "record")
        parts.append(f"left out {noun} whose id came earlier in this run")
    for reason in summary.first_invalid:
        notice(f"skipped {reason}")
    notice("jsonvec: " + "; ".join(parts))
    for note in summary.notes:
        notice(f"jsonvec: note: {note}")
