"""The encoding run: numbered lines in, ids and vectors out, with a summary.

This is what ``jsonvec encode`` calls; it is usable on its own from Python.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from jsonvec._utils import arguments
from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.interrupts import check_interrupted
from jsonvec.codebook.codebook import Codebook
from jsonvec.codebook.files import load_codebook
from jsonvec.encoding.encoder import Encoder
from jsonvec.errors import InvalidLineError, OutputError, TooManyInvalidError, UsageError
from jsonvec.records.batches import Batch, BatchBuilder
from jsonvec.records.paths import parse_path
from jsonvec.records.reader import INPUT_FORMATS, STDIN, Line, expand_inputs, read_batches
from jsonvec.run.batches import BatchEncoder
from jsonvec.run.workers import encode_batches
from jsonvec.storage.appending import (
    AppendPlan,
    SeenIds,
    append_lock,
    check_existing,
    existing_ids,
    is_folder_target,
    next_position,
    plan_append,
)
from jsonvec.storage.guard import Named, check_files, reads
from jsonvec.storage.layout import VECTORS_FORMAT, IdKind
from jsonvec.storage.manifest import Manifest, write_manifest
from jsonvec.storage.outputs import open_sink, output_format, written_files
from jsonvec.storage.sink import VectorSink
from jsonvec.storage.stdout import StdoutWriter
from jsonvec.version import ENCODING, __version__


@dataclass(frozen=True, kw_only=True)
class EncodeOptions:
    """How a run treats ids and bad lines.

    Attributes
    ----------
    id_field : path of the record's id (``user.id``); None numbers records from 0.
    skip_invalid : count and skip invalid lines instead of stopping at the first.
    keep_records : store each record's JSON text beside its vector (Parquet only).
    batch_size : records encoded and written together (fewer when they hold more than
        ``batches.BATCH_BYTES``, 1 MiB, of lines).
    jobs : processes that encode: this one and ``jobs - 1`` workers; the output does not
        depend on it.
    max_invalid : with ``skip_invalid``, fail once more than this many lines were invalid.
    append : add to an existing Parquet file or folder of parts instead of replacing it.
    skip_existing : with ``append``, leave out records whose id is already in the output.
    """

    id_field: str | None = None
    skip_invalid: bool = False
    keep_records: bool = False
    batch_size: int = 1024
    jobs: int = 1
    max_invalid: int | None = None
    append: bool = False
    skip_existing: bool = False

    @property
    def id_kind(self) -> IdKind:
        """Positions are integers; ids read from a field are strings."""
        return "int" if self.id_field is None else "string"


@dataclass
class EncodeSummary:
    """What a run did.

    Attributes
    ----------
    records : records written.
    invalid : invalid lines skipped (``skip_invalid``).
    blank : blank lines, which hold no record.
    existing : records left out because their id was already in the output.
    repeated : records left out because their id came earlier in the same run.
    seconds : wall time of the run.
    output : the file put in place (for a folder, the new part), or None if none was.
    first_invalid : the first few invalid lines, as ``FILE:LINE: reason``.
    notes : hints about inputs likely not read as meant (a JSON Lines file whose one record
        is an array: ``input_format="json"`` reads its elements).

    Examples
    --------
    >>> summary = EncodeSummary(records=2, invalid=1, seconds=0.5)
    >>> summary.rate, summary.as_json()["skipped"]
    (4.0, 1)
    """

    records: int = 0
    invalid: int = 0
    blank: int = 0
    existing: int = 0
    repeated: int = 0
    seconds: float = 0.0
    output: str | None = None
    first_invalid: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict (``encode --summary``)."""
        return {
            "records": self.records,
            "skipped": self.invalid + self.existing + self.repeated,
            "invalid": self.invalid,
            "existing": self.existing,
            "repeated": self.repeated,
            "blank": self.blank,
            "output": self.output,
            "seconds": round(self.seconds, 3),
        }


def vectors_metadata(encoder: Encoder, id_kind: IdKind) -> dict[str, Any]:
    """The description stored with every vectors output."""
    codebook = encoder.codebook
    return {
        "format": VECTORS_FORMAT,
        "dim": codebook.dim,
        "dtype": "float32",
        "codebook": codebook.fingerprint,
        "encoding": ENCODING,
        "codebook_params": codebook.params(),
        "id_type": id_kind,
        "jsonvec_version": __version__,
    }


@dataclass(frozen=True)
class Inputs:
    """Files of records to read (``-``: stdin), what to tell of the bytes read, and how to
    read them (``fmt``: ``jsonl`` or ``json``; None chooses by name, see
    :func:`jsonvec.records.reader.input_format`)."""

    paths: Sequence[str]
    progress: Callable[[int], None] | None = None
    fmt: str | None = None


#: what a run reads: input files, or lines already read
Source = Inputs | Iterable[Line]


def encode_lines(
    lines: Source,
    encoder: Encoder,
    sink: VectorSink,
    options: EncodeOptions | None = None,
    rejects: BinaryIO | None = None,
    seen: SeenIds | None = None,
    start: int = 0,
) -> EncodeSummary:
    """Encode every record in ``lines`` (:class:`Inputs`, or lines) into ``sink``, in order.

    An invalid line raises :class:`InvalidLineError` unless ``options.skip_invalid``; then it
    is counted and, if ``rejects`` is given, copied there byte for byte. Without
    ``options.id_field`` the id of a record is ``start`` plus its 0-based position among the
    input's non-blank lines, so skipping a bad line never shifts the ids of the others.
    The sink is not committed. With ``options.jobs > 1`` batches are encoded in worker
    processes; the output is the same. Records whose id ``seen`` knows are left out (and
    counted).
    """
    options = options or EncodeOptions()
    summary = EncodeSummary()
    started = time.perf_counter()
    work = BatchEncoder(encoder, options.id_field, options.keep_records)
    batches = _batches(lines, options.batch_size, summary, start)
    with collector_paused():
        _encode_all(batches, work, sink, options, summary, rejects, seen)
    summary.seconds = time.perf_counter() - started
    return summary


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the run: records are trees, freed as soon
    as they are encoded, and the collector's passes over the many young objects of parsed
    records cost 5-10% of the encoding (measured on vega_movies) and find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _encode_all(
    batches: Iterator[Batch],
    work: BatchEncoder,
    sink: VectorSink,
    options: EncodeOptions,
    summary: EncodeSummary,
    rejects: BinaryIO | None,
    seen: SeenIds | None,
) -> None:
    for encoded in encode_batches(batches, work, options.jobs, options.batch_size):
        check_interrupted()
        for source, lineno, reason, raw in encoded.invalid:
            _reject(InvalidLineError(source, lineno, reason, raw), options, summary, rejects)
        ids, vectors, texts = encoded.ids, encoded.vectors, encoded.texts
        if seen is not None:
            keep, present, repeated = seen.new_rows(ids)
            summary.existing += present
            summary.repeated += repeated
            ids, vectors = [ids[i] for i in keep], vectors[keep]
            texts = None if texts is None else [texts[i] for i in keep]
        if ids:
            crc = encoded.crc32 if seen is None else None
            sink.write(ids, vectors, texts, crc)
            summary.records += len(ids)


def _batches(source: Source, size: int, summary: EncodeSummary, start: int) -> Iterator[Batch]:
    """Non-blank lines with their positions, ``size`` at a time; blank lines are counted."""

    def blank(count: int) -> None:
        summary.blank += count

    if isinstance(source, Inputs):
        yield from read_batches(source.paths, size, blank, source.progress, start, source.fmt,
                                summary.notes.append)  # fmt: skip
        return
    builder = BatchBuilder(start)
    for line in source:
        if line.is_blank:
            summary.blank += 1
            continue
        builder.add(line.source, line.lineno, line.raw)
        if builder.full(size):
            yield builder.build()
    if len(builder):
        yield builder.build()


def encode_to(
    output: str,
    lines: Source,
    encoder: Encoder,
    options: EncodeOptions | None = None,
    *,
    stdout: BinaryIO | StdoutWriter | None = None,
    rejects: BinaryIO | None = None,
    on_wait: Callable[[], None] | None = None,
) -> EncodeSummary:
    """Encode ``lines`` into the output named ``output`` (see :func:`open_sink`; ``-`` is
    ``stdout``, by default this process's, written in full or not at all:
    :class:`~jsonvec.storage.stdout.StdoutWriter`).

    The output is committed only when every line went well; on any error or interruption it
    is aborted, leaving no partial file and the previous output intact. With
    ``options.append`` the run holds the output folder's lock (``on_wait`` is called if it
    has to wait for it), numbers positional ids on from the largest already there, and
    writes nothing at all when no record is new.
    """
    options = options or EncodeOptions()
    if not options.append:
        sink = open_sink(
            output, encoder.dim, vectors_metadata(encoder, options.id_kind), options.id_kind,
            stdout, options.keep_records,
        )  # fmt: skip
        summary = _run(lines, encoder, sink, options, rejects)
        summary.output = "-" if output == "-" else str(output)
        return summary
    with append_lock(output, on_wait):
        return _append(output, lines, encoder, options, rejects)


def _append(
    output: str,
    lines: Source,
    encoder: Encoder,
    options: EncodeOptions,
    rejects: BinaryIO | None,
) -> EncodeSummary:
    from jsonvec.storage.parquet.sink import ParquetSink  # noqa: PLC0415 - pyarrow when needed

    plan = plan_append(output)
    check_existing(
        plan, encoder.codebook.fingerprint, encoder.dim, options.id_kind, options.keep_records
    )
    seen = SeenIds(existing_ids(plan)) if options.skip_existing else None
    start = next_position(plan) if options.id_field is None else 0
    sink = ParquetSink(
        plan.target, encoder.dim, vectors_metadata(encoder, options.id_kind), options.id_kind,
        options.keep_records, copy_from=plan.copy_from,
        names=plan.part_names(),
    )  # fmt: skip
    summary = _run(lines, encoder, sink, options, rejects, seen, start, commit=False)
    if summary.records == 0:
        sink.abort()  # nothing new: leave the output exactly as it was
        return summary
    try:
        check_interrupted()
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    if plan.manifest is not None and plan.folder is not None:
        following = plan.manifest.next_position
        if following is not None and options.id_field is None:
            new = AppendPlan(str(sink.path), existing=[sink.path])
            following = max(following, next_position(new))
        added = plan.manifest.added([sink.path.name], [summary.records], following)
        _list_part(plan.folder, added, sink.path)
    summary.output = str(sink.path)
    return summary


def _list_part(folder: Path, manifest: Manifest, part: Path) -> None:
    """Put in place the manifest that lists the new ``part``; the part is taken back if that
    cannot be done (readers would not see it)."""
    try:
        write_manifest(folder, manifest)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise


def _run(
    lines: Source,
    encoder: Encoder,
    sink: VectorSink,
    options: EncodeOptions,
    rejects: BinaryIO | None,
    seen: SeenIds | None = None,
    start: int = 0,
    *,
    commit: bool = True,
) -> EncodeSummary:
    """Encode into ``sink``; abort it on any error, and commit it (if asked) on success."""
    try:
        summary = encode_lines(lines, encoder, sink, options, rejects, seen, start)
        check_interrupted()
        if commit:
            sink.commit()
    except BaseException:
        sink.abort()
        raise
    return summary


def _reject(
    exc: InvalidLineError,
    options: EncodeOptions,
    summary: EncodeSummary,
    rejects: BinaryIO | None,
) -> None:
    if not options.skip_invalid:
        raise exc
    summary.invalid += 1
    if options.max_invalid is not None and summary.invalid > options.max_invalid:
        raise TooManyInvalidError(
            f"{exc.source}:{exc.lineno}: more than {options.max_invalid} invalid lines "
            f"(--max-invalid); this one: {exc.reason}"
        )
    if len(summary.first_invalid) < 5:
        summary.first_invalid.append(str(exc))
    if rejects is not None:
        try:  # a document's record, or a last line, may end without a newline
            rejects.write(exc.line if exc.line.endswith(b"\n") else exc.line + b"\n")
        except OSError as write_exc:
            raise OutputError(f"rejects file: cannot write: {write_exc.strerror}") from write_exc


def check_options(
    output: str, options: EncodeOptions, *, rejects: str | None = None, folder: bool = False
) -> None:
    """Refuse options that do not go together, or an output of no known format.

    ``folder`` says whether ``output`` may be a folder of parts without ``options.append``
    (a Dask run).
    """
    if rejects is not None and not options.skip_invalid:
        raise UsageError("--rejects needs --skip-invalid or --max-invalid")
    if options.skip_existing and not (options.append and options.id_field):
        raise UsageError("--skip-existing needs --append and --id-field")
    fmt = _format(output, options, folder)
    if options.keep_records and fmt not in (None, ".parquet"):
        raise UsageError("--keep-records needs a .parquet output")


def check_outputs(
    inputs: Sequence[str],
    output: str,
    options: EncodeOptions,
    *,
    rejects: str | None = None,
    summary: str | None = None,
    folder: bool = False,
    codebook: str | None = None,
) -> None:
    """Refuse an output (or rejects or summary file) that is also an input (or the
    ``codebook`` file) or another output, or that cannot be written where it is named
    (:func:`jsonvec.storage.guard.check_files`)."""
    fmt = _format(output, options, folder)
    written = (
        [Named("output", output, folder=True)]
        if fmt is None
        else [Named(r, p) for r, p in written_files(output)]
    )
    written += [Named("rejects file", rejects)] if rejects is not None else []
    written += [Named("summary file", summary)] if summary is not None else []
    read = reads(list(inputs) or [STDIN]) + reads([codebook] if codebook else [], "codebook")
    check_files(read, written)


def _format(output: str, options: EncodeOptions, folder: bool) -> str | None:
    """The output's format (by suffix), or None for a folder of parts."""
    if is_folder_target(output):
        if options.append or folder:
            return None
        raise UsageError(
            f"{output} is a folder: --append adds a part of Parquet vectors to it, and "
            "--engine dask writes a folder of parts; else name a file (.parquet, .npy, .jsonl)"
        )
    try:
        fmt = output_format(output)
    except OutputError as exc:
        raise UsageError(str(exc)) from exc
    if options.append and fmt != ".parquet":
        raise UsageError(f"{output}: --append needs a .parquet file or a folder of parts (FOLDER/)")
    return fmt


@contextlib.contextmanager
def rejects_file(path: str | None) -> Iterator[BinaryIO | None]:
    """The file that invalid lines are copied to, put in place only if the run ends well."""
    if path is None:
        yield None
        return
    with AtomicFile(path) as handle:
        yield handle.file


PathLike = str | os.PathLike[str]


def encode_file(
    inputs: PathLike | Sequence[PathLike],
    output: PathLike,
    *,
    codebook: Codebook | PathLike | None = None,
    id_field: str | None = None,
    skip_invalid: bool = False,
    max_invalid: int | None = None,
    rejects: PathLike | None = None,
    keep_records: bool = False,
    append: bool = False,
    skip_existing: bool = False,
    batch_size: int = 1024,
    jobs: int = 1,
    input_format: str | None = None,
) -> EncodeSummary:
    """Encode files of records into a vectors file: ``jsonvec encode`` as one call.

    Parameters
    ----------
    inputs : path or list of paths
        JSON Lines files, gzip-compressed or not (``-``: this process's stdin); files named
        ``*.json`` are JSON documents (the elements of a top-level array, or each top-level
        value); folders and glob patterns as ``jsonvec encode`` takes them.
    output : path
        ``NAME.parquet``, ``NAME.npy`` (ids and metadata beside it), ``NAME.jsonl``, ``-``
        (JSON Lines on stdout), or with ``append`` a folder ``NAME/`` of Parquet parts.
    codebook : Codebook or path of a codebook file, optional
        Defaults to the built-in codebook (dim 1024, seed 0).
    id_field : str, optional
        The path of each record's id (``user.id``, ``items[0]``); without it ids are the
        records' positions.
    skip_invalid, max_invalid, rejects, keep_records, append, skip_existing, batch_size :
        As the options of ``jsonvec encode`` of the same names (``max_invalid`` implies
        ``skip_invalid``).
    jobs : int
        Processes that encode: this one and ``jobs - 1`` workers; the output does not depend
        on it.
    input_format : {"jsonl", "json"}, optional
        How to read every input; by default ``json`` for names ending in ``.json`` (or
        ``.json.gz``), else ``jsonl``.

    Returns
    -------
    EncodeSummary
        Records written, lines skipped, seconds, and the file put in place.

    Raises
    ------
    InvalidLineError
        At the first invalid line (``FILE:LINE: reason``), unless ``skip_invalid``.
    TooManyInvalidError
        When more than ``max_invalid`` lines were invalid.
    UsageError
        For options that do not go together, or an output that is also an input
        (:class:`ArgumentError`, a kind of it, for an argument of the wrong type).
    InputError, OutputError, CodebookError, CodebookMismatchError
        For files that cannot be read or written, or an append with another codebook.

    Nothing is left behind by a run that fails: the output (and ``rejects``) are put in
    place only when every line went well, and a previous output stays as it was.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text('{"id": "a", "x": 1}\\n{"id": "b", "x": 2}\\n')
    >>> summary = encode_file(folder / "in.jsonl", folder / "out.parquet", id_field="id")
    >>> summary.records
    2
    """
    paths = expand_inputs(arguments.paths(inputs, "inputs"))
    target = arguments.path(output, "output")
    rejects_path = arguments.optional_path(rejects, "rejects")
    book = codebook if isinstance(codebook, Codebook) else None
    codebook_path = None
    if book is None and codebook is not None:
        codebook_path = arguments.path(codebook, "codebook (a Codebook or a path)")
    options = _options(
        id_field=id_field, skip_invalid=skip_invalid, keep_records=keep_records,
        batch_size=batch_size, jobs=jobs, max_invalid=max_invalid, append=append,
        skip_existing=skip_existing,
    )  # fmt: skip
    if input_format is not None:
        arguments.choice(input_format, "input_format", INPUT_FORMATS)
    check_options(target, options, rejects=rejects_path)
    check_outputs(paths, target, options, rejects=rejects_path, codebook=codebook_path)
    book = load_codebook(codebook_path) if codebook_path is not None else book
    with rejects_file(rejects_path) as stream:
        return encode_to(target, Inputs(paths, fmt=input_format), Encoder(book), options,
                         rejects=stream)  # fmt: skip


def _options(
    *,
    id_field: object,
    skip_invalid: object,
    keep_records: object,
    batch_size: object,
    jobs: object,
    max_invalid: object,
    append: object,
    skip_existing: object,
) -> EncodeOptions:
    """The options of :func:`encode_file`, checked."""
    id_path = arguments.optional_text(id_field, "id_field")
    if id_path is not None:
        parse_path(id_path)
    limit = arguments.optional_integer(max_invalid, "max_invalid", 0)
    return EncodeOptions(
        id_field=id_path,
        skip_invalid=arguments.flag(skip_invalid, "skip_invalid") or limit is not None,
        keep_records=arguments.flag(keep_records, "keep_records"),
        batch_size=arguments.integer(batch_size, "batch_size", 1),
        jobs=arguments.integer(jobs, "jobs", 1),
        max_invalid=limit,
        append=arguments.flag(append, "append"),
        skip_existing=arguments.flag(skip_existing, "skip_existing"),
    )
