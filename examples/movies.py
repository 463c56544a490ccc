"""jsonvec from Python, as in a notebook: records -> vectors -> similar records -> a classifier.

Run it with ``python examples/movies.py`` (``make test`` does). It reads the movie records of
``../shared/data/vega_movies.jsonl`` (or ``python examples/movies.py FILE --label FIELD
--pick N`` for another JSON Lines file of objects, labelled by FIELD), and:

1. encodes dicts into vectors (``jsonvec.encode_batch``);
2. writes them with ids and records, loads them back and finds records like a misspelt,
   partial one, and a changed copy of record N (485, Jurassic Park) as that record
   (``jsonvec.encode_file``, ``jsonvec.load``, ``Vectors.search``);
3. predicts each film's "Major Genre" from its other fields with a scikit-learn pipeline,
   ``JsonVectorizer`` then ``LogisticRegression``, and the same pipeline with
   ``FeatureHasher`` in its place (fields flattened to ``key=value`` strings and numbers, then
   scaled: without the scaler large grosses dominate and the solver does not converge; give
   ``--unscaled`` to run that one too, about two minutes), each scored by 5-fold
   cross-validated accuracy.
"""

# %%
from __future__ import annotations

import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MaxAbsScaler

import jsonvec
from jsonvec.sklearn import JsonVectorizer

ROOT = Path(__file__).resolve().parent.parent
args = [a for a in sys.argv[1:] if not a.startswith("--")]
CORPUS = Path(args[0]) if args else ROOT.parent / "shared" / "data" / "vega_movies.jsonl"
LABEL = sys.argv[sys.argv.index("--label") + 1] if "--label" in sys.argv else "Major Genre"
PICK = int(sys.argv[sys.argv.index("--pick") + 1]) if "--pick" in sys.argv else 485
if not CORPUS.exists():
    sys.exit(f"examples/movies.py: {CORPUS} not found: give the path of vega_movies.jsonl")
movies = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines()]
print(f"{len(movies):,} movie records from {CORPUS.name}; the first:\n{movies[0]}\n")

# %% 1. dicts to vectors: one record, or many at once
vector = jsonvec.encode(movies[0])
vectors = jsonvec.encode_batch(movies)
print(f"encode: {vector.shape} {vector.dtype}; encode_batch: {vectors.shape}")
assert np.array_equal(vectors[0], vector)

# %% 2. write vectors with ids and records, load them back, search by a partial record
workdir = tempfile.TemporaryDirectory()  # removed at the end
folder = Path(workdir.name)
lines = folder / "movies.jsonl"
lines.write_bytes(b"".join(orjson.dumps({"id": i, **m}) + b"\n" for i, m in enumerate(movies)))
summary = jsonvec.encode_file(lines, folder / "movies.parquet", id_field="id", keep_records=True)
print(f"\nencode_file: {summary.records:,} records in {summary.seconds:.2f} s")

stored = jsonvec.load(folder / "movies.parquet")
print(f"load: {stored}")
original = movies[PICK]
texts = [k for k, v in original.items() if isinstance(v, str) and len(v) > 3 and k != LABEL]
misspelt = original[texts[0]][:2] + original[texts[0]][3:]  # one letter left out
query = {texts[0]: misspelt, texts[1]: original[texts[1]]}  # misspelt, two fields
print(f"the records most like {query}:")
for hit in stored.search(query, k=3, include_records=True)[0]:
    print(f"  {hit.score:.3f}  {[hit.record[k] for k in texts[:2]]}")

# the whole record with the typo and every number 5% higher finds its original first
changed = {
    key: round(value * 1.05, 2) if type(value) in (int, float) else value
    for key, value in {**original, texts[0]: misspelt}.items()
}
best = stored.search(changed, k=1)[0][0]
print(f"a changed copy of {original[texts[0]]!r} finds id {best.id} (score {best.score:.3f})")
assert best.id == str(PICK)

# %% 3. a classifier: predict the genre from the other fields
counts = Counter(m.get(LABEL) for m in movies)
labelled = [dict(m) for m in movies if m.get(LABEL) is not None and counts[m[LABEL]] >= 10]
genres = [m.pop(LABEL) for m in labelled]


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """The usual input of FeatureHasher: strings as key=value features, numbers as values."""
    return {
        (f"{key}={value}" if isinstance(value, str) else key): (
            1 if isinstance(value, str) else float(value)
        )
        for key, value in record.items()
        if value is not None
    }


folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
pipelines: list[tuple[str, Pipeline, list[Any]]] = [
    ("JsonVectorizer", make_pipeline(JsonVectorizer(), LogisticRegression(max_iter=1000)),
     labelled),
    ("FeatureHasher + MaxAbsScaler", make_pipeline(FeatureHasher(n_features=1024),
     MaxAbsScaler(), LogisticRegression(max_iter=1000, C=10)), [flatten(m) for m in labelled]),
]  # fmt: skip
if "--unscaled" in sys.argv:
    pipelines.append(
        ("FeatureHasher", make_pipeline(FeatureHasher(n_features=1024),
         LogisticRegression(max_iter=1000)), [flatten(m) for m in labelled])
    )  # fmt: skip
majority = max(genres.count(g) for g in set(genres)) / len(genres)
common = counts.most_common(1)[0][0]
print(
    f"\n{LABEL} of {len(labelled):,} records, 5-fold accuracy (always {common!r}: {majority:.3f}):"
)
scores = {}
for name, model, samples in pipelines:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        accuracy = cross_val_score(model, samples, genres, cv=folds)
    scores[name] = float(accuracy.mean())
    print(f"  {name:<30} {accuracy.mean():.3f} ± {accuracy.std():.3f}  "
          f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
assert scores["JsonVectorizer"] > majority + 0.1
workdir.cleanup()
