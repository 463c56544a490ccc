"""The scripts in examples/ run to the end (each checks its own results with asserts)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import run

EXAMPLES = Path(__file__).parent.parent / "examples"
CORPUS = Path(__file__).parent.parent.parent / "shared" / "data" / "vega_movies.jsonl"


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/data is not here")
def test_movies_example_runs_and_scores() -> None:
    done = run([sys.executable, str(EXAMPLES / "movies.py"), str(CORPUS)], timeout=300)
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "a changed copy of Jurassic Park finds id 485" in out
    scores = {
        line.split()[0]: float(line.split()[-5]) for line in out.splitlines()
        if line.startswith("  JsonVectorizer") or line.startswith("  FeatureHasher")
    }  # fmt: skip
    assert scores["JsonVectorizer"] > scores["FeatureHasher"]
