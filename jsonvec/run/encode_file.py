"""A run from inputs to an output put in place: a new output committed whole, or a part
appended to a Parquet file or folder; and :func:`encode_file`, ``jsonvec encode`` as one call."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from jsonvec._utils import arguments
from jsonvec._utils.interrupts import check_interrupted
from jsonvec.codebook.codebook import Codebook
from jsonvec.codebook.files import load_codebook
from jsonvec.encoding.encoder import Encoder
from jsonvec.records.paths import parse_path
from jsonvec.records.reader import INPUT_FORMATS, expand_inputs
from jsonvec.run.options import EncodeOptions, EncodeSummary, check_options, check_outputs
from jsonvec.run.stream import Inputs, Source, encode_lines, rejects_file
from jsonvec.storage.appending import (
    AppendPlan,
    Kind,
    SeenIds,
    append_lock,
    check_existing,
    existing_ids,
    next_position,
    plan_append,
)
from jsonvec.storage.dtypes import DTYPES, dtype_named
from jsonvec.storage.layout import VECTORS_FORMAT
from jsonvec.storage.manifest import Manifest, write_manifest
from jsonvec.storage.outputs import open_sink
from jsonvec.storage.sink import VectorSink
from jsonvec.storage.stdout import StdoutWriter
from jsonvec.version import ENCODING, __version__


def vectors_metadata(encoder: Encoder, options: EncodeOptions) -> dict[str, Any]:
    """The description stored with every vectors output."""
    codebook = encoder.codebook
    return {
        "format": VECTORS_FORMAT,
        "dim": codebook.dim,
        "dtype": options.dtype,
        "codebook": codebook.fingerprint,
        "encoding": ENCODING,
        "codebook_params": codebook.params(),
        "id_type": options.id_kind,
        "jsonvec_version": __version__,
    }


def appending_kind(codebook: Codebook, options: EncodeOptions) -> Kind:
    """What the vectors of a run share with those it may be appended to."""
    return Kind(
        codebook.fingerprint, codebook.dim, options.id_kind, options.keep_records, options.dtype
    )


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
            output, encoder.dim, vectors_metadata(encoder, options), options.id_kind,
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
    check_existing(plan, appending_kind(encoder.codebook, options))
    seen = SeenIds(existing_ids(plan)) if options.skip_existing else None
    start = next_position(plan) if options.id_field is None else 0
    sink = ParquetSink(
        plan.target, encoder.dim, vectors_metadata(encoder, options), options.id_kind,
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
    dtype: str = "float32",
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
    dtype : {"float32", "float16", "int8"}
        The type the vectors are stored in (``.parquet`` and ``.npy``); every reader gives
        float32 (:mod:`jsonvec.storage.dtypes`).

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
        skip_existing=skip_existing, dtype=dtype,
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
    dtype: object,
) -> EncodeOptions:
    """The options of :func:`encode_file`, checked."""
    id_path = arguments.optional_text(id_field, "id_field")
    if id_path is not None:
        parse_path(id_path)
    limit = arguments.optional_integer(max_invalid, "max_invalid", 0)
    return EncodeOptions(
        id_field=id_path,
        skip_invalid=arguments.flag(skip_invalid, "skip_invalid"),
        keep_records=arguments.flag(keep_records, "keep_records"),
        batch_size=arguments.integer(batch_size, "batch_size", 1),
        jobs=arguments.integer(jobs, "jobs", 1),
        max_invalid=limit,
        append=arguments.flag(append, "append"),
        skip_existing=arguments.flag(skip_existing, "skip_existing"),
        dtype=dtype_named(arguments.choice(dtype, "dtype", DTYPES)),
    )
