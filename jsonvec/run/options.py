"""The options of an encoding run, their checks (options that do not go together, an output
that is also an input), and the summary a run gives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonvec.errors import OutputError, TooManyInvalidError, UsageError
from jsonvec.records.reader import STDIN
from jsonvec.storage.appending import (
    is_folder_target,
)
from jsonvec.storage.dtypes import Dtype, dtype_named
from jsonvec.storage.guard import Named, check_files, reads
from jsonvec.storage.layout import IdKind
from jsonvec.storage.outputs import output_format, written_files


@dataclass(frozen=True, kw_only=True)
class EncodeOptions:
    """How a run treats ids and bad lines.

    Attributes
    ----------
    id_field : path of the record's id (``user.id``); None numbers records from 0.
    skip_invalid : count and skip invalid lines instead of stopping at the first (implied by
        ``max_invalid``).
    keep_records : store each record's JSON text beside its vector (Parquet only).
    batch_size : records encoded and written together (fewer when they hold more than
        ``batches.BATCH_BYTES``, 1 MiB, of lines).
    jobs : processes that encode: this one and ``jobs - 1`` workers; the output does not
        depend on it.
    max_invalid : with ``skip_invalid``, fail once more than this many lines were invalid.
    append : add to an existing Parquet file or folder of parts instead of replacing it.
    skip_existing : with ``append``, leave out records whose id is already in the output.
    dtype : the type the vectors are stored in (:mod:`jsonvec.storage.dtypes`): float32,
        float16 or int8; ``.parquet`` and ``.npy`` outputs only.
    """

    id_field: str | None = None
    skip_invalid: bool = False
    keep_records: bool = False
    batch_size: int = 1024
    jobs: int = 1
    max_invalid: int | None = None
    append: bool = False
    skip_existing: bool = False
    dtype: Dtype = "float32"

    def __post_init__(self) -> None:
        dtype_named(self.dtype)
        if self.max_invalid is not None and not self.skip_invalid:
            object.__setattr__(self, "skip_invalid", True)  # a limit on skipping is skipping

    @property
    def id_kind(self) -> IdKind:
        """Positions are integers; ids read from a field are strings."""
        return "int" if self.id_field is None else "string"

    def too_many(self, invalid: int) -> bool:
        """Whether ``invalid`` lines are more than ``max_invalid`` allows.

        >>> EncodeOptions(max_invalid=1).too_many(2), EncodeOptions(skip_invalid=True).too_many(9)
        (True, False)
        """
        return self.max_invalid is not None and invalid > self.max_invalid

    def too_many_error(self, source: str, lineno: int, reason: str) -> TooManyInvalidError:
        """The error of the invalid line ``source:lineno`` past ``max_invalid``."""
        return TooManyInvalidError(
            f"{source}:{lineno}: more than {self.max_invalid} invalid lines "
            f"(--max-invalid); this one: {reason}"
        )


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
    if options.dtype != "float32" and fmt not in (None, ".parquet", ".npy"):
        raise UsageError(f"--dtype {options.dtype} needs a .parquet or .npy output")


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
