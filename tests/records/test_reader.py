from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from jsonvec import InputError, InvalidLineError
from jsonvec.records.batches import BATCH_BYTES, BOM
from jsonvec.records.reader import Line, parse_line, read_batches, read_lines


def lines_of(path: Path) -> list[Line]:
    return list(read_lines([str(path)]))


def test_numbers_lines_and_keeps_raw_bytes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n  \n[2]')
    lines = lines_of(path)
    assert [(line.lineno, line.raw) for line in lines] == [
        (1, b'{"a": 1}\r\n'),
        (2, b"\n"),
        (3, b"  \n"),
        (4, b"[2]"),
    ]
    assert [line.is_blank for line in lines] == [False, True, True, False]
    assert parse_line(lines[0]) == {"a": 1}
    assert parse_line(lines[3]) == [2]


def test_bom_on_the_first_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\xef\xbb\xbf{"a": 2}\n')
    first, second = lines_of(path)
    assert parse_line(first) == {"a": 1}
    with pytest.raises(InvalidLineError, match=r"bom.jsonl:2: invalid JSON"):
        parse_line(second)


def test_gzip_is_recognised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    assert [parse_line(line) for line in lines_of(path)] == [{"a": 1}, {"a": 2}]


def test_truncated_gzip_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(2000)))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut.jsonl.gz:\d+: gzip data is truncated"):
        lines_of(path)


def test_invalid_line_reports_position() -> None:
    line = Line("in.jsonl", 7, b'{"a": }\n')
    with pytest.raises(InvalidLineError) as info:
        parse_line(line)
    assert str(info.value).startswith("in.jsonl:7: invalid JSON: ")
    assert info.value.line == b'{"a": }\n'
    assert info.value.lineno == 7


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'"\xff"', "not valid UTF-8: byte 0xff at column 2"),
        (b"\xed\xa0\x80\n", "not valid UTF-8: byte 0xed at column 1"),
        (b"NaN", "invalid JSON: unexpected character, expected a JSON value (column 1)"),
        (b"1e400", "invalid JSON: a number beyond the range of a 64-bit float (column 1)"),
        (b"[1,", "invalid JSON: the value is cut short at column 4 (a truncated line?)"),
        (b'{"a": \r\n', "invalid JSON: the value is cut short at column 7 (a truncated line?)"),
        (b"{'a': 1}", "invalid JSON: unexpected character, expected a string key (column 2)"),
        (
            b'"\\ud800"',
            "invalid JSON: a lone surrogate escape (\\ud800-\\udbff without its pair) in a "
            "string (column 2)",
        ),
        (b"1 2", "invalid JSON: unexpected content after document (column 3)"),
        (b'{"a": 1 "b"}', "invalid JSON: unexpected character, expected ',' or '}' (column 9)"),
    ],
)
def test_invalid_lines_say_what_is_wrong_and_where(raw: bytes, reason: str) -> None:
    for lineno in (1, 2):  # line 1 is read without its line ending, others with it
        with pytest.raises(InvalidLineError) as info:
            parse_line(Line("x", lineno, raw))
        assert str(info.value) == f"x:{lineno}: {reason}"


def test_duplicate_keys_keep_the_last_value() -> None:
    assert parse_line(Line("x", 1, b'{"a": 1, "a": 2}')) == {"a": 2}


def test_missing_file() -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl: cannot read: No such file"):
        list(read_lines(["nope.jsonl"]))


def test_progress_counts_bytes_on_disk(tmp_path: Path) -> None:
    """For gzip the compressed bytes: a bar whose total is the files' sizes ends at 100%."""
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(b'{"a": 1}\n' * 50_000))
    plain = tmp_path / "b.jsonl"
    plain.write_bytes(b'{"b": 2}\n' * 10)
    seen: list[int] = []
    lines = list(read_lines([str(packed), str(plain), str(packed)], seen.append))
    assert len(lines) == 100_010
    assert sum(seen) == 2 * packed.stat().st_size + plain.stat().st_size
    assert all(step > 0 for step in seen)


def test_batches_end_at_a_line_count_or_a_megabyte(tmp_path: Path) -> None:
    """Short lines come ``size`` at a time; long ones in batches of about BATCH_BYTES, so
    that workers share out a file of long records too. Positions and line numbers run on."""
    path = tmp_path / "in.jsonl"
    long = b'{"t": "' + b"x" * 300_000 + b'"}\n'
    path.write_bytes(b"1\n" * 10 + b"\n" + long * 9 + b"2\n" * 3)
    assert [len(b) for b in read_batches([str(path)], 4)] == [4, 4, 4, 4, 4, 2]
    batches = list(read_batches([str(path)], 100, start=5))
    assert [len(b) for b in batches] == [14, 4, 4]  # the 4th long line passes 1 MiB
    assert [b.first for b in batches] == [5, 19, 23]
    assert batches[0].linenos.tolist() == [*range(1, 11), 12, 13, 14, 15]  # line 11 is blank
    assert all(b.nbytes == sum(map(len, b.raws)) for b in batches)
    assert all(b.nbytes < BATCH_BYTES + len(long) for b in batches)


def test_small_inputs_share_a_batch_each_with_its_names_and_byte_order_mark(
    tmp_path: Path,
) -> None:
    """The last records of an input fill the batch with the next input's first ones; each
    keeps its input's name and line numbers, and each input's line 1 loses its BOM."""
    paths = []
    texts = [("a", BOM + b'{"a": 1}\n\n{"a": 2}'), ("b", BOM + b'{"b": 1}\n')]
    for name, text in texts:
        paths.append(tmp_path / f"{name}.jsonl")
        paths[-1].write_bytes(text)
    paths.append(tmp_path / "c.jsonl")
    paths[-1].write_bytes(b'{"c": 1}\n' * 5)
    blank: list[int] = []
    batches = list(read_batches([str(p) for p in paths], 4, blank.append, start=3))
    assert [len(b) for b in batches] == [4, 4]
    assert [b.first for b in batches] == [3, 7]
    first = batches[0]
    assert [first.source(i)[-7:] for i in range(4)] == ["a.jsonl", "a.jsonl", "b.jsonl", "c.jsonl"]
    assert first.linenos.tolist() == [1, 3, 1, 1]
    assert [orjson.loads(raw) for raw in first.json()] == [{"a": 1}, {"a": 2}, {"b": 1}, {"c": 1}]
    assert first.text(2) == b'{"b": 1}'
    assert first.raw(2) == b'\xef\xbb\xbf{"b": 1}\n'  # a rejected line is copied as read
    assert blank == [1, 0, 0]
