"""Partial queries on wide records: does a one-field query rank its holder first?

Usage:  python bench/partial.py [--data DIR] [--queries 200] [--dim 1024] [--write docs/partial.md]

Wide records (at least 50 leaves): twitter_statuses as it is, and records joined from four
consecutive records of random_users, usgs_earthquakes and jenkins_update_center_plugins under
keys ``a`` … ``d`` (values stay unique). A query is one nested string field (a path of object
keys only: a partial record cannot say "the third element" without the two before it) whose
value has at least 5 characters and is held by exactly one record; it is right when the first
hit is that record. Each query is asked as it is (exact) and with one typo: a letter dropped,
doubled, or two neighbours swapped (seeded).

Methods:

- jsonvec: cosine of the record vectors and the partial record's vector (default codebook),
  as ``jsonvec similar`` ranks;
- jsonvec --by-field: the stored records scored field by field (``jsonvec.search.fields``), ties
  broken by the cosine, as ``jsonvec similar --by-field`` ranks;
- vector top-K, then by field: only the K records nearest by cosine are scored by field
  (what a candidate set from the vectors, or an ANN index, would give);
- FH n-grams: cosine of flatten + FeatureHasher of ``path=value`` plus ``path~gram`` for each
  character trigram of a string value (the usual way to make hashing tolerate typos).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import flatten

from jsonvec import Codebook, Encoder
from jsonvec.search.fields import rank_by_fields

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
JOINED = ("random_users", "usgs_earthquakes", "jenkins_update_center_plugins")
KEYS = "abcd"

Method = Callable[[list[Any]], np.ndarray]
Ranker = Callable[[list[Any], list[Any]], np.ndarray]  # (records, queries) -> first rows


def read(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def corpora(data: Path) -> dict[str, list[Any]]:
    """The wide corpora: twitter_statuses, and four records joined into one for the others."""
    out = {"twitter_statuses": read(data / "twitter_statuses.jsonl")}
    for name in JOINED:
        records = read(data / f"{name}.jsonl")
        out[f"{name} x4"] = [
            dict(zip(KEYS, records[i : i + 4], strict=True)) for i in range(0, len(records) - 3, 4)
        ]
    return out


def object_fields(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(keys, leaf)`` for every leaf reached through object keys only."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from object_fields(child, (*path, key))
    elif not isinstance(value, list):
        yield path, value


def leaves(value: Any) -> int:
    return sum(1 for _ in flatten(value))


def nested(keys: tuple[str, ...], leaf: Any) -> Any:
    """The partial record holding ``leaf`` at ``keys``."""
    for key in reversed(keys):
        leaf = {key: leaf}
    return leaf


def typo(text: str, rng: random.Random) -> str:
    """One letter dropped, doubled, or swapped with its neighbour."""
    i = rng.randrange(len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1 :]
    if kind == 1:
        return text[: i + 1] + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def queries(
    records: list[Any], count: int, rng: random.Random
) -> list[tuple[int, tuple[str, ...], str]]:
    """Up to ``count`` (holder, keys, value) with a string value of ≥ 5 characters that no
    other record holds anywhere."""
    held = Counter(
        text for r in records for text in {v for _, v in flatten(r) if isinstance(v, str)}
    )
    found = [
        (row, keys, leaf)
        for row, record in enumerate(records)
        for keys, leaf in object_fields(record)
        if isinstance(leaf, str) and len(leaf) >= 5 and held[leaf] == 1
    ]
    rng.shuffle(found)
    return found[:count]


def jsonvec_method(dim: int) -> Method:
    encoder = Encoder(Codebook(dim=dim))
    return encoder.encode_batch


def hasher_ngrams(dim: int) -> Method:
    from sklearn.feature_extraction import FeatureHasher  # noqa: PLC0415

    hasher = FeatureHasher(n_features=dim, input_type="string", alternate_sign=True)

    def tokens(value: Any) -> list[str]:
        out = []
        for path, leaf in flatten(value):
            text = leaf if isinstance(leaf, str) else orjson.dumps(leaf).decode()
            out.append(f"{path}={text}")
            if isinstance(leaf, str):
                padded = f"\x02{leaf.casefold()}\x03"
                out += [f"{path}~{padded[i : i + 3]}" for i in range(max(1, len(padded) - 2))]
        return out

    def embed(values: list[Any]) -> np.ndarray:
        dense = np.asarray(hasher.transform(tokens(v) for v in values).toarray(), np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return dense / np.where(norms > 0, norms, 1.0)

    return embed


def by_cosine(method: Method) -> Ranker:
    def first(records: list[Any], queries: list[Any]) -> np.ndarray:
        return np.argmax(method(queries) @ method(records).T, axis=1)

    return first


def by_field(dim: int, candidates: int = 0) -> Ranker:
    """``similar --by-field``; with ``candidates``, only that many nearest by cosine."""
    encoder = Encoder(Codebook(dim=dim))

    def first(records: list[Any], queries: list[Any]) -> np.ndarray:
        cosines = encoder.encode_batch(queries) @ encoder.encode_batch(records).T
        if candidates:
            cut = -np.sort(-cosines, axis=1)[:, candidates - 1 : candidates]
            keep = cosines >= cut
            out = []
            for q, query in enumerate(queries):
                rows = np.flatnonzero(keep[q])
                best, _ = rank_by_fields(
                    [query], [records[r] for r in rows], cosines[q : q + 1, rows], 1
                )
                out.append(rows[best[0, 0]])
            return np.asarray(out)
        rows, _ = rank_by_fields(queries, records, cosines.astype(np.float32), 1)
        return rows[:, 0]

    return first


def first_right(rank: Ranker, records: list[Any], asked: list[tuple[int, Any]]) -> float:
    """Share of queries whose first hit is their holder."""
    best = rank(records, [q for _, q in asked])
    return float(np.mean([b == holder for b, (holder, _) in zip(best, asked, strict=True)]))


def fields_sweep(dim: int) -> list[str]:
    """Holder-first rates against the number of fields: records of n random eight-letter
    words, one-field queries, exact and with two neighbouring letters swapped."""
    rng = random.Random(1)
    encoder = Encoder(Codebook(dim=dim))

    def word() -> str:
        return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4))

    lines = [
        "| leaves n | sqrt(dim / n) | holder first, exact value | holder first, one swap |",
        "|---:|---:|---:|---:|",
    ]
    for n in (8, 16, 24, 32, 48, 64, 96, 128):
        records = [{f"f{j}": word() for j in range(n)} for _ in range(500)]
        vectors = encoder.encode_batch(records)
        right = np.zeros(2)
        asked = 300
        for _ in range(asked):
            row, field = rng.randrange(len(records)), f"f{rng.randrange(n)}"
            value = records[row][field]
            i = rng.randrange(len(value) - 1)
            swapped = value[:i] + value[i + 1] + value[i] + value[i + 2 :]
            scores = encoder.encode_batch([{field: value}, {field: swapped}]) @ vectors.T
            right += np.argmax(scores, axis=1) == row
        exact, typo_ = right / asked
        lines.append(f"| {n} | {np.sqrt(dim / n):.2f} | {exact:.3f} | {typo_:.3f} |")
        print(lines[-1], flush=True)
    return lines


PROBE_BOOKS = (
    ("dim 1024, default (8-entry atoms)", 1024, {}),
    ("dim 1024, 32-entry atoms", 1024, {"atom_nonzeros": 32}),
    ("dim 1024, dense atoms", 1024, {"atom_nonzeros": 1024}),
    ("dim 4096, default", 4096, {}),
)


def probe_sweep() -> list[str]:
    """`jsonvec probe` top-1 against the number of fields: records of n fields, each field's
    value one of its own 500 random words; every field of 300 records read back and cleaned
    up against its 500 words."""
    from jsonvec import Settings  # noqa: PLC0415
    from jsonvec.encoding.probe import cleanup, unbind  # noqa: PLC0415

    counts = (8, 16, 32, 48, 64, 96, 128, 200)
    lines = [
        "| codebook | " + " | ".join(f"{n} fields" for n in counts) + " |",
        "|---|" + "---:|" * len(counts),
    ]
    for label, dim, params in PROBE_BOOKS:
        book = Codebook(dim=dim, settings=Settings(**params))
        encoder = Encoder(book)
        cells = [label]
        for n in counts:
            rng = random.Random(n)
            vocab = [
                sorted({"".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou")
                                for _ in range(4)) for _ in range(600)})[:500]
                for _ in range(n)
            ]  # fmt: skip
            records = [{f"f{j}": rng.choice(vocab[j]) for j in range(n)} for _ in range(300)]
            vectors = encoder.encode_batch(records)
            right = 0
            for j in range(n):
                scores = cleanup(unbind(vectors, f"f{j}", book), vocab[j], book)
                best = np.argmax(scores, axis=1)
                right += sum(vocab[j][b] == r[f"f{j}"] for b, r in zip(best, records, strict=True))
            cells.append(f"{right / (n * len(records)):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


WHERE_NARROW = ("vega_movies", "usgs_earthquakes", "random_users", "openfootball_matches")


def where_sweep(data: Path, count: int, dim: int) -> list[str]:
    """Precision and recall of ``--where`` decoded from vectors against the exact filter:
    ``count`` conditions per corpus, each a (path, value) of a random record (object keys
    only; strings and numbers), all records tested."""
    from jsonvec.search.where import Condition, decoded_mask, exact_mask  # noqa: PLC0415

    sets = {name: read(data / f"{name}.jsonl") for name in WHERE_NARROW}
    sets.update(corpora(data))
    book = Codebook(dim=dim)
    encoder = Encoder(book)
    lines = [
        "| corpus | records | leaves (median) | conditions | held (exact) | precision | recall "
        "| strings: precision | recall | numbers: precision | recall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, records in sets.items():
        rng = random.Random(5)
        vectors = encoder.encode_batch(records)
        tp = fp = fn = 0
        kinds = {"strings": [0, 0, 0], "numbers": [0, 0, 0]}
        for _ in range(count):
            fields = [
                (keys, v)
                for keys, v in object_fields(rng.choice(records))
                if keys and isinstance(v, str | int | float) and not isinstance(v, bool)
            ]
            keys, value = rng.choice(fields)
            condition = Condition(keys, value)
            truth = exact_mask([condition], records)
            decoded = decoded_mask([condition], [(0, vectors)], book)
            counts = (
                int((truth & decoded).sum()),
                int((~truth & decoded).sum()),
                int((truth & ~decoded).sum()),
            )
            tp, fp, fn = tp + counts[0], fp + counts[1], fn + counts[2]
            kind = kinds["strings" if isinstance(value, str) else "numbers"]
            for i, n in enumerate(counts):
                kind[i] += n
        leaves_median = int(np.median([leaves(r) for r in records]))
        by_kind = " | ".join(
            f"{k[0] / max(k[0] + k[1], 1):.3f} | {k[0] / max(k[0] + k[2], 1):.3f}"
            if k[0] + k[2]
            else "- | -"
            for k in kinds.values()
        )
        lines.append(
            f"| {name} | {len(records):,} | {leaves_median} | {count} | {tp + fn:,} | "
            f"{tp / max(tp + fp, 1):.3f} | {tp / max(tp + fn, 1):.3f} | {by_kind} |"
        )
        print(lines[-1], flush=True)
    return lines


NUMBER_FIELDS = (
    ("vega_movies", ("IMDB Rating", "Running Time min", "US Gross", "Production Budget")),
    ("vega_cars", ("Horsepower", "Weight_in_lbs", "Acceleration")),
    ("usgs_earthquakes", ("properties.mag", "properties.felt")),
)


def number_sweep(data: Path) -> list[str]:
    """`probe` without candidates on number fields: how often the true number lies in the
    estimate's range, is the estimate, and the median relative error."""
    from jsonvec.encoding.probe import estimate_numbers, unbind  # noqa: PLC0415

    encoder = Encoder(Codebook())
    lines = [
        "| corpus | field | records with a number | true value in [low, high] | estimate exact "
        "| median relative error |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, fields in NUMBER_FIELDS:
        records = read(data / f"{name}.jsonl")
        vectors = encoder.encode_batch(records)
        for field in fields:
            truth = []
            for record in records:
                value = record
                for key in field.split("."):
                    value = value.get(key) if isinstance(value, dict) else None
                truth.append(value)
            rows = [
                i
                for i, v in enumerate(truth)
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            guesses = estimate_numbers(unbind(vectors[rows], field))
            pairs = [(g, truth[i]) for g, i in zip(guesses, rows, strict=True)]
            inside = np.mean([g.low <= t <= g.high for g, t in pairs])
            exact = np.mean([g.value == t for g, t in pairs])
            error = np.median([abs(g.value - t) / max(abs(t), 1e-12) for g, t in pairs])
            lines.append(
                f"| {name} | {field} | {len(rows):,} | {inside:.3f} | {exact:.3f} | {error:.4f} |"
            )
            print(lines[-1], flush=True)
    return lines


STRING_WEIGHTS = ((1.0, 1.0, 0.5), (0.5, 1.0, 0.25), (0.3, 1.0, 0.15), (0.0, 1.0, 0.0))


def soft_strings(data: Path, count: int, dim: int) -> list[str]:
    """Vector-only rates (exact / one typo) with more weight on a string's n-grams: the
    string code's weights (exact, n-grams, words), default first."""
    from jsonvec import Settings  # noqa: PLC0415

    wide = corpora(data)
    lines = [
        "| exact, n-gram, word weights | cos(Jonathan, Johnathan) | " + " | ".join(wide) + " |",
        "|---|---:|" + "---:|" * len(wide),
    ]
    for exact_w, gram_w, word_w in STRING_WEIGHTS:
        settings = Settings(
            string_exact_weight=exact_w, string_ngram_weight=gram_w, string_word_weight=word_w
        )
        encoder = Encoder(Codebook(dim=dim, settings=settings))
        a, b = encoder.encode_batch(["Jonathan", "Johnathan"])
        cells = [f"{exact_w}, {gram_w}, {word_w}", f"{float(a @ b):.2f}"]
        for records in wide.values():
            rng = random.Random(12)
            picked = queries(records, count, rng)
            exact = [(row, nested(keys, value)) for row, keys, value in picked]
            typed = [(row, nested(keys, typo(value, rng))) for row, keys, value in picked]
            rank = by_cosine(encoder.encode_batch)
            right = (first_right(rank, records, exact), first_right(rank, records, typed))
            cells.append(f"{right[0]:.3f} / {right[1]:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--write", type=Path)
    parser.add_argument(
        "--fields-sweep", action="store_true", help="the table of rates against field counts"
    )
    parser.add_argument(
        "--soft-strings", action="store_true", help="vector-only rates with more n-gram weight"
    )
    parser.add_argument(
        "--probe-sweep", action="store_true", help="probe top-1 against field counts"
    )
    parser.add_argument(
        "--where-sweep", action="store_true", help="precision/recall of decoded --where"
    )
    parser.add_argument(
        "--number-sweep", action="store_true", help="probe's number estimates on real fields"
    )
    args = parser.parse_args()
    if args.number_sweep:
        print("\n".join(number_sweep(args.data)))
        return
    if args.where_sweep:
        print("\n".join(where_sweep(args.data, 100, args.dim)))
        return
    if args.probe_sweep:
        print("\n".join(probe_sweep()))
        return
    if args.soft_strings:
        print("\n".join(soft_strings(args.data, args.queries, args.dim)))
        return
    if args.fields_sweep:
        print("\n".join(fields_sweep(args.dim)))
        return
    methods = {
        "jsonvec": by_cosine(jsonvec_method(args.dim)),
        "jsonvec --by-field": by_field(args.dim),
        "top-100 by vector, then by field": by_field(args.dim, 100),
        "FH n-grams": by_cosine(hasher_ngrams(args.dim)),
    }
    head = "| corpus | records | leaves (median) | queries | " + " | ".join(
        f"{m} exact | {m} typo" for m in methods
    )
    lines = [head + " |", "|---|" + "---:|" * (3 + 2 * len(methods))]
    for name, records in corpora(args.data).items():
        rng = random.Random(12)
        picked = queries(records, args.queries, rng)
        exact = [(row, nested(keys, value)) for row, keys, value in picked]
        typed = [(row, nested(keys, typo(value, rng))) for row, keys, value in picked]
        cells = [
            name,
            f"{len(records):,}",
            f"{int(np.median([leaves(r) for r in records]))}",
            f"{len(picked)}",
        ]
        for method in methods.values():
            cells += [
                f"{first_right(method, records, exact):.3f}",
                f"{first_right(method, records, typed):.3f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    command = "python bench/partial.py " + " ".join(sys.argv[1:])
    text = (
        f"Command: `{command.strip()}`; dim {args.dim}, default settings.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
