from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from jsonvec import InputError, InvalidLineError
from jsonvec.reader import Line, parse_line, read_lines


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
    "raw", [b'"\xff"', b"NaN", b"1e400", b"[1,", b"{'a': 1}", b'"\\ud800"', b"1 2"]
)
def test_invalid_json_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidLineError, match=r"^x:1: invalid JSON: "):
        parse_line(Line("x", 1, raw))


def test_duplicate_keys_keep_the_last_value() -> None:
    assert parse_line(Line("x", 1, b'{"a": 1, "a": 2}')) == {"a": 2}


def test_missing_file() -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl: cannot read: No such file"):
        list(read_lines(["nope.jsonl"]))
