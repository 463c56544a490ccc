from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jsonvec import Codebook, CodebookError, Settings, default_codebook, load_codebook
from jsonvec.codebook.files import MANIFEST, save_codebook
from jsonvec.inspect import leaf_vector


def test_default_codebook() -> None:
    book = default_codebook()
    assert (book.dim, book.seed, book.settings) == (1024, 0, Settings())
    assert book.fingerprint == Codebook().fingerprint == "c6dc0019b7901a5e"


def test_fingerprint_tracks_every_parameter() -> None:
    base = Codebook(dim=64).fingerprint
    assert Codebook(dim=128).fingerprint != base
    assert Codebook(dim=64, seed=1).fingerprint != base
    assert Codebook(dim=64, settings=Settings(ngram=4)).fingerprint != base


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"dim": 100}, "multiple of 8"),
        ({"dim": 8}, "from 64 to 65536"),
        ({"dim": True}, "from 64"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"family": "gaussian"}, "unknown matrix family"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(CodebookError, match=problem):
        Codebook(**kwargs)  # type: ignore[arg-type]


def test_leaf_keeps_true_apart_from_one() -> None:
    book = Codebook(dim=64)
    assert not np.array_equal(leaf_vector(True, book), leaf_vector(1, book))
    assert np.array_equal(leaf_vector(1, book), leaf_vector(1.0, book))
    assert not np.array_equal(leaf_vector({}, book), leaf_vector([], book))
    assert not np.array_equal(leaf_vector(None, book), leaf_vector(False, book))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    book = Codebook(dim=128, seed=9, settings=Settings(set_arrays=("tags",)))
    path = tmp_path / "cb"
    save_codebook(book, path)
    loaded = load_codebook(path)
    assert loaded == book
    assert loaded.fingerprint == book.fingerprint


def test_files_are_byte_identical_and_small(tmp_path: Path) -> None:
    save_codebook(Codebook(), tmp_path / "a")
    save_codebook(Codebook(), tmp_path / "b")
    data = (tmp_path / "a").read_bytes()
    assert data == (tmp_path / "b").read_bytes()
    assert len(data) < 2000


def _rewrite_manifest(path: Path, change: str, to: str) -> None:
    with zipfile.ZipFile(path) as archive:
        body = archive.read(MANIFEST).decode()
    assert change in body
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MANIFEST, body.replace(change, to))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "book.codebook"
    save_codebook(Codebook(dim=64), path)
    return path


def test_truncated_file(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[:-30])
    with pytest.raises(
        CodebookError, match=rf"^{re.escape(str(saved))}: codebook file is truncated or corrupted"
    ):
        load_codebook(saved)


def test_any_flipped_byte_is_caught_or_harmless(saved: Path) -> None:
    """Damage anywhere gives a CodebookError, or (in bytes zip ignores) the same codebook."""
    original = saved.read_bytes()
    messages = []
    for position in range(len(original)):
        for flip in (0xFF, 0x01, 0x80):
            data = bytearray(original)
            data[position] ^= flip
            saved.write_bytes(bytes(data))
            try:
                assert load_codebook(saved) == Codebook(dim=64)
            except CodebookError as exc:
                messages.append(str(exc))
    assert len(messages) > len(original)
    assert all(m.startswith(f"{saved}: ") and "\n" not in m for m in messages)


def test_every_truncation_is_caught(saved: Path) -> None:
    original = saved.read_bytes()
    for size in range(len(original)):
        saved.write_bytes(original[:size])
        with pytest.raises(CodebookError):
            load_codebook(saved)


def test_edited_manifest(saved: Path) -> None:
    _rewrite_manifest(saved, '"seed": 0', '"seed": 1')
    with pytest.raises(CodebookError, match="fingerprint does not match"):
        load_codebook(saved)


def test_newer_format(saved: Path) -> None:
    _rewrite_manifest(saved, '"format": 2', '"format": 3')
    with pytest.raises(CodebookError, match="format 3 is newer than this jsonvec reads"):
        load_codebook(saved)


def test_older_format_is_refused_with_a_way_out(saved: Path) -> None:
    _rewrite_manifest(saved, '"format": 2', '"format": 1')
    with pytest.raises(CodebookError, match=r"format 1 .* make a new codebook"):
        load_codebook(saved)


def test_other_dtype(saved: Path) -> None:
    _rewrite_manifest(saved, '"dtype": "float32"', '"dtype": "float16"')
    with pytest.raises(CodebookError, match="unsupported vector dtype 'float16'"):
        load_codebook(saved)


def test_not_a_codebook(tmp_path: Path, samples: Path) -> None:
    with pytest.raises(CodebookError, match=r"people\.jsonl: not a jsonvec codebook file$"):
        load_codebook(samples / "people.jsonl")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("x.txt", "hello")
    with pytest.raises(CodebookError, match="no manifest"):
        load_codebook(other)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="cannot read codebook: No such file"):
        load_codebook(tmp_path / "nope")
