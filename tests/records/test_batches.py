"""Cutting JSON Lines bytes into batches: the C cut and its Python twin agree, and the
batches do not depend on how the bytes arrive."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvec.records import batches
from jsonvec.records.batches import BOM, Batch, LineCutter, cut_block, cut_python
from jsonvec.records.reader import Line

try:
    from jsonvec.records._scan import cut as cut_c
except ImportError:  # built without a C compiler
    cut_c = None

#: lines made of the bytes that matter to the cut: records, blanks, \r, a BOM
LINE = st.lists(
    st.sampled_from([b"1", b"{}", b" ", b"\t", b"\r", b"\r\n", b"\n", BOM, b'"a b"', b"x" * 40]),
    max_size=6,
).map(b"".join)
TEXT = st.lists(LINE, max_size=40).map(b"\n".join)


def described(batch: Batch) -> list[tuple[int, bytes, int]]:
    return [
        (batch.first + i, batch.raw(i), int(batch.linenos[i]), batch.source(i))  # type: ignore[misc]
        for i in range(len(batch))
    ]


def by_lines(text: bytes) -> list[tuple[int, bytes, int]]:
    """What Line says of each line: the records, numbered, with their line numbers."""
    found, position = [], 0
    raws = text.split(b"\n")
    lines = [raw + b"\n" for raw in raws[:-1]] + ([raws[-1]] if raws[-1] else [])
    for lineno, raw in enumerate(lines, 1):
        if not Line("in", lineno, raw).is_blank:
            found.append((position, raw, lineno, "in"))
            position += 1
    return found


@pytest.mark.skipif(cut_c is None, reason="built without a C compiler")
@settings(max_examples=400)
@given(
    TEXT,
    st.integers(0, 60),
    st.integers(1, 5),
    st.integers(1, 90),
    st.booleans(),
    st.booleans(),
)
def test_the_c_cut_is_the_python_cut(
    text: bytes, pos: int, records: int, nbytes: int, final: bool, line_one: bool
) -> None:
    assert cut_c is not None
    pos = min(pos, len(text))
    ours = cut_c(text, pos, records, nbytes, final, line_one)
    theirs = cut_python(text, pos, records, nbytes, final, line_one)
    assert ours[:3] == theirs[:3]
    assert [list(a) for a in ours[3:]] == [list(a) for a in theirs[3:]]


@settings(max_examples=300)
@given(TEXT, st.lists(st.integers(1, 30), max_size=20), st.integers(1, 4))
def test_batches_do_not_depend_on_the_pieces(text: bytes, cuts: list[int], size: int) -> None:
    """Fed in any pieces, the cutter gives the records Line finds, in full batches of
    ``size`` but the last; blank lines counted."""
    cutter = LineCutter("in", size)
    got, at = [], 0
    for step in cuts:
        got += cutter.feed(text[at : at + step])
        at += step
    got += cutter.feed(text[at:])
    got += cutter.finish()
    assert [record for batch in got for record in described(batch)] == by_lines(text)
    assert all(len(batch) == size for batch in got[:-1])
    assert cutter.records == len(by_lines(text))
    assert cutter.blank == cutter.lines - cutter.records
    whole = list(cut_block(text, "in", 1, 0, size))
    assert [described(b) for b in whole] == [described(b) for b in got]


def test_the_python_cut_serves_without_the_compiled_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "cut", cut_python)
    got = list(cut_block(BOM + b'{"a": 1}\n\n 2 \r\n', "in", 1, 7, 1))
    assert [described(b) for b in got] == [[(7, BOM + b'{"a": 1}\n', 1, "in")],
                                                [(8, b" 2 \r\n", 3, "in")]]  # fmt: skip
    assert list(got[0].json()) == [b'{"a": 1}\n']


def test_a_long_line_is_joined_once_it_ends() -> None:
    """A line longer than many pieces is kept in pieces until its newline comes."""
    cutter = LineCutter("in", 4)
    long = b'"' + b"y" * (3 * batches.FEED_BYTES) + b'"'
    for at in range(0, len(long), 1 << 16):
        assert cutter.feed(long[at : at + (1 << 16)]) == []
    assert len(cutter._pieces) == -(-len(long) // (1 << 16))  # none joined yet
    got = cutter.feed(b"\n1\n2\n3\n4\n5")  # the long line is a batch of its own
    assert [b.raws for b in got] == [[long + b"\n"], [b"1\n", b"2\n", b"3\n", b"4\n"]]
    assert [(b.raws, b.linenos.tolist()) for b in cutter.finish()] == [([b"5"], [6])]


def test_a_slow_pipe_gets_each_batch_as_soon_as_it_is_whole() -> None:
    cutter = LineCutter("<stdin>", 2)
    assert cutter.feed(b"1\n") == []
    assert [b.raws for b in cutter.feed(b"2\n3")] == [[b"1\n", b"2\n"]]
    assert [b.raws for b in cutter.finish()] == [[b"3"]]
