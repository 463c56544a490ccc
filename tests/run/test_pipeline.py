from __future__ import annotations

import io

import numpy as np
import orjson
import pytest

from jsonvec import Codebook, EncodeError, Encoder, InvalidLineError, encode_batch
from jsonvec.records.reader import Line
from jsonvec.run.encode_file import vectors_metadata
from jsonvec.run.options import EncodeOptions
from jsonvec.run.stream import encode_lines
from jsonvec.run.workers import parent as workers


class ListSink:
    def __init__(self) -> None:
        self.batches: list[tuple[list[object], np.ndarray]] = []
        self.records: list[str] = []

    def write(
        self,
        ids: list[object],
        vectors: np.ndarray,
        records: list[str] | None = None,
        crc: int | None = None,
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
    meta = vectors_metadata(Encoder(BOOK), EncodeOptions())
    assert meta["codebook"] == BOOK.fingerprint
    assert (meta["dim"], meta["dtype"], meta["id_type"]) == (64, "float32", "int")
    meta = vectors_metadata(Encoder(BOOK), EncodeOptions(id_field="id", dtype="int8"))
    assert (meta["dtype"], meta["id_type"]) == ("int8", "string")


def many_lines() -> list[Line]:
    raws = []
    for i in range(40):
        raws.append(
            b"{oops\n"
            if i % 13 == 5
            else b'{"id": %d, "name": "n%d", "x": [%d, 1.5]}\n' % (i, i, i)
        )
        if i % 9 == 0:
            raws.append(b"\n")
    return lines(*raws)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_give_the_same_batches_rejects_and_summary(
    start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--jobs: the same ids, vectors (bit for bit), order, rejects and counts as one process,
    with forked workers (Linux) and fresh interpreters (elsewhere) alike."""
    monkeypatch.setattr(workers, "START", start)
    results = []
    for jobs in (1, 2, 3):  # this process alone, with one worker, with two
        sink, rejects = ListSink(), io.BytesIO()
        options = EncodeOptions(id_field="id", skip_invalid=True, batch_size=4, jobs=jobs)
        summary = encode_lines(many_lines(), Encoder(BOOK), sink, options, rejects)
        ids = [i for batch, _ in sink.batches for i in batch]
        vectors = np.concatenate([v for _, v in sink.batches])
        results.append((ids, vectors.tobytes(), rejects.getvalue(), summary.records))
        assert (summary.invalid, summary.blank) == (3, 5)
    assert results[0] == results[1] == results[2]
    assert results[0][0][:6] == ["0", "1", "2", "3", "4", "6"]


def test_long_records_are_shared_out_in_smaller_batches() -> None:
    """Records of 300 KB: a batch ends at 1 MiB of lines, not at 1,024 records, so two
    processes share even a short file of long lines; the same bits as one process."""
    raws = [orjson.dumps({"i": i, "xs": list(range(i, i + 60_000))}) + b"\n" for i in range(9)]
    assert all(len(raw) > 300_000 for raw in raws)
    results = []
    for jobs in (1, 2):
        sink = ListSink()
        encode_lines(lines(*raws), Encoder(BOOK), sink, EncodeOptions(jobs=jobs))
        assert [len(ids) for ids, _ in sink.batches] == [4, 4, 1]
        results.append(np.concatenate([v for _, v in sink.batches]).tobytes())
    assert results[0] == results[1]
    assert results[0] == Encoder(BOOK).encode_batch([orjson.loads(r) for r in raws]).tobytes()


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_stop_at_the_first_invalid_line(
    start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "START", start)
    options = EncodeOptions(batch_size=4, jobs=2)
    with pytest.raises(InvalidLineError, match=r"^in:7: invalid JSON"):
        encode_lines(many_lines(), Encoder(BOOK), ListSink(), options)


def test_a_record_that_cannot_be_encoded_is_an_invalid_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Valid JSON that the encoder refuses is reported with its line like a parse error."""
    encoder = Encoder(BOOK)
    real = encoder.encode_batch

    def refuse_nines(values: list[object]) -> np.ndarray:
        if 9 in values:
            raise EncodeError("cannot encode the number 9")
        return real(values)

    def into(values: list[object], out: np.ndarray) -> None:
        out[: len(values)] = refuse_nines(values)

    monkeypatch.setattr(encoder, "encode_into", into)
    monkeypatch.setattr(encoder, "encode", lambda v: refuse_nines([v])[0])
    sink, rejects = ListSink(), io.BytesIO()
    options = EncodeOptions(skip_invalid=True)
    summary = encode_lines(lines(b"1\n", b"9\n", b"2\n"), encoder, sink, options, rejects)
    assert summary.first_invalid == ["in:2: cannot encode the number 9"]
    assert sink.batches[0][0] == [0, 2]
    assert rejects.getvalue() == b"9\n"
