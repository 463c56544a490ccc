"""Helpers shared by test modules."""

from __future__ import annotations

import io
from pathlib import Path

from jsonvec import Codebook, Encoder
from jsonvec.pipeline import EncodeOptions, encode_to
from jsonvec.reader import read_lines


def write_vectors(
    out: Path,
    source: Path,
    codebook: Codebook | None = None,
    id_field: str | None = "id",
    keep_records: bool | None = None,
) -> Path:
    """Encode the JSON Lines file ``source`` into ``out`` through the library."""
    keep = out.suffix == ".parquet" if keep_records is None else keep_records
    options = EncodeOptions(id_field=id_field, keep_records=keep)
    encode_to(str(out), read_lines([str(source)]), Encoder(codebook), options, stdout=io.BytesIO())
    return out
