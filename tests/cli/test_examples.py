"""The scripts in examples/ run to the end (each checks its own results with asserts).

On the corpus of ../shared/data where it is beside the repository, else on records made
here of the same kind (so that a clone elsewhere runs the example too).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import orjson

from tests.helpers import run

EXAMPLES = Path(__file__).parents[2] / "examples"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "vega_movies.jsonl"
GENRES = {
    "Horror": ("Night", "Blood", "Dead", "House"),
    "Comedy": ("Wedding", "Party", "Crazy", "Dad"),
    "Action": ("Strike", "Force", "Mission", "Fury"),
}


def made_up_films(path: Path) -> None:
    """Films whose genre shows in their title words, rating, length and budget, with noise."""
    rnd = random.Random(7)
    lines = []
    for i in range(600):
        genre = rnd.choice(sorted(GENRES))
        words = [rnd.choice(GENRES[genre]), rnd.choice(("of", "and", "the")),
                 rnd.choice([w for ws in GENRES.values() for w in ws])]  # fmt: skip
        film = {
            "Title": f"{' '.join(words)} {i}",
            "Director": f"{rnd.choice(('Ann', 'Bo', 'Cy'))} {rnd.choice(('Lee', 'Ruiz', 'Kim'))}",
            "MPAA Rating": {"Horror": "R", "Comedy": "PG-13", "Action": "PG-13"}[genre],
            "Running Time min": {"Horror": 90, "Comedy": 100, "Action": 130}[genre]
            + rnd.randint(-10, 10),
            "Production Budget": rnd.randint(1, 30) * 10**6 * (3 if genre == "Action" else 1),
            "Major Genre": genre,
        }
        lines.append(orjson.dumps(film) + b"\n")
    path.write_bytes(b"".join(lines))


def test_movies_example_runs_and_scores(tmp_path: Path) -> None:
    corpus = CORPUS
    if not corpus.exists():
        corpus = tmp_path / "films.jsonl"
        made_up_films(corpus)
    pick = "485" if corpus == CORPUS else "17"
    done = run([sys.executable, str(EXAMPLES / "movies.py"), str(corpus), "--pick", pick],
               timeout=300)  # fmt: skip
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert f"finds id {pick} " in out
    scores = {
        line.split()[0]: float(line.split()[-5]) for line in out.splitlines()
        if line.startswith("  JsonVectorizer") or line.startswith("  FeatureHasher")
    }  # fmt: skip
    assert scores["JsonVectorizer"] >= scores["FeatureHasher"]
    if corpus == CORPUS:  # 0.479 against 0.393 (the README's Python section)
        assert scores["JsonVectorizer"] > scores["FeatureHasher"] + 0.05
