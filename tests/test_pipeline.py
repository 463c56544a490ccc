from __future__ import annotations

import io

import numpy as np
import pytest

from jsonvec import Codebook, Encoder, InvalidLineError, encode_batch
from jsonvec.pipeline import EncodeOptions, encode_lines, vectors_metadata
from jsonvec.reader import Line


class ListSink:
    def __init__(self) -> None:
        self.batches: list[tuple[list[object], np.ndarray]] = []
        self.records: list[str] = []

    def write(
        self, ids: list[object], vectors: np.ndarray, records: list[str] | None = None
    ) -> None:
        self.batches.append((list(ids), vectors.copy()))
        self.records.extend(records or [])

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


def lines(*raws: bytes) -> list[Line]:
    return [Line("in", i + 1, raw) for i, raw in enumerate(raws)]


BOOK = Codebook(dim=64)


def test_batches_and_summary() -> None:
    sink = ListSink()
    data = lines(b"1\n", b"\n", b'"a"\n', b"[true]\n", b"null\n", b"{}\n")
    summary = encode_lines(data, Encoder(BOOK), sink, EncodeOptions(batch_size=2))
    assert (summary.records, summary.blank, summary.invalid) == (5, 1, 0)
    assert [ids for ids, _ in sink.batches] == [[0, 1], [2, 3], [4]]
    vectors = np.concatenate([v for _, v in sink.batches])
    assert np.array_equal(vectors, encode_batch([1, "a", [True], None, {}], BOOK))


def test_invalid_lines_are_skipped_and_copied() -> None:
    sink, rejects = ListSink(), io.BytesIO()
    data = lines(b'{"id": "a"}\n', b"{oops\n", b'{"id": 5}\n', b'{"no": 1}\r\n')
    options = EncodeOptions(id_field="id", skip_invalid=True)
    summary = encode_lines(data, Encoder(BOOK), sink, options, rejects)
    assert summary.invalid == 2
    assert summary.first_invalid[1] == "in:4: field 'id' is missing"
    assert rejects.getvalue() == b'{oops\n{"no": 1}\r\n'
    assert sink.batches[0][0] == ["a", "5"]


def test_keep_records_passes_the_line_text() -> None:
    sink = ListSink()
    data = lines(b'{"a": "\xc3\xa9"}\r\n', b"[1, 2]")
    encode_lines(data, Encoder(BOOK), sink, EncodeOptions(keep_records=True))
    assert sink.records == ['{"a": "é"}', "[1, 2]"]


def test_first_invalid_line_raises() -> None:
    with pytest.raises(InvalidLineError, match=r"^in:2: invalid JSON"):
        encode_lines(lines(b"1\n", b"{\n"), Encoder(BOOK), ListSink())


def test_metadata_names_the_codebook() -> None:
    meta = vectors_metadata(Encoder(BOOK), "int")
    assert meta["codebook"] == BOOK.fingerprint
    assert (meta["dim"], meta["dtype"], meta["id_type"]) == (64, "float32", "int")
