"""Finding the same record again: jsonvec against feature hashing and a neural embedder.

Usage:  python bench/quality.py [--data DIR] [--limit 2000] [--copies 200] [--no-minilm]
                                [--fit] [--haar] [--dtypes] [--variant LABEL:NAME=VALUE,...]
                                [--seeds 5]
                                [--corpus NAME ...] [--write docs/quality.md]

For every corpus (each .jsonl in the data folder) it takes up to --limit records, makes
perturbed copies of --copies of them (bench/perturb.py: keys reordered, numbers ±2%, typos,
a field dropped, all together), encodes originals and copies with each method, and asks
whether each copy's nearest original by cosine is its own original (or a record with
identical content): recall@1, and the mean reciprocal rank of the first such record. A record
that ties with the right one counts against the method.

Methods: jsonvec (default codebook, dim 1024); flatten + scikit-learn FeatureHasher (dim 1024)
with numbers as values, and with every leaf as a path=value token; all-MiniLM-L6-v2 on the
compact JSON text (needs the `bench` extra; skipped with a message when not installed).
--fit adds jsonvec with a fitted codebook, --dtypes jsonvec with the originals stored as
float16 and int8 (queries stay float32, as `similar` encodes them), --haar jsonvec's leaves
bound by dense Haar matrices instead of signed permutations (bench/families.py), --variant
other settings.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import Method, hasher_tokens, hasher_values, minilm
from perturb import PERTURBATIONS

import jsonvec
from jsonvec.codebook.fit import fit_settings
from jsonvec.storage import dtypes

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DIM = 1024
SEED = 20261127


def load(path: Path, limit: int) -> list[Any]:
    values = []
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                values.append(orjson.loads(line))
                if len(values) == limit:
                    break
    return values


def content_groups(values: list[Any]) -> np.ndarray:
    """Equal numbers for records with identical content (key order ignored)."""
    seen: dict[bytes, int] = {}
    return np.array(
        [seen.setdefault(orjson.dumps(v, option=orjson.OPT_SORT_KEYS), len(seen)) for v in values]
    )


def recall_and_mrr(
    originals: np.ndarray, copies: np.ndarray, targets: np.ndarray, groups: np.ndarray
) -> tuple[float, float]:
    scores = copies @ originals.T
    ranks = []
    for row, target in zip(scores, targets, strict=True):
        same = groups == groups[target]
        best = row[same].max()
        ranks.append(1 + int((row[~same] >= best).sum()))
    ranks_arr = np.array(ranks)
    return float((ranks_arr == 1).mean()), float((1.0 / ranks_arr).mean())


def methods(use_minilm: bool) -> dict[str, Method]:
    found: dict[str, Method] = {
        "jsonvec": jsonvec.encode_batch,
        "hash-values": hasher_values(DIM),
        "hash-tokens": hasher_tokens(DIM),
    }
    if use_minilm:
        try:
            found["minilm"] = minilm()
        except ImportError as exc:
            print(f"minilm skipped: {exc} (pip install -e '.[bench]')", file=sys.stderr)
    return found


def variant(spec: str) -> tuple[str, jsonvec.Codebook]:
    """``LABEL:NAME=VALUE,...`` -> (label, codebook with those settings, that family, dim or
    seed)."""
    label, _, changes = spec.partition(":")
    family = "signed-permutation"
    dim = 1024
    seed = 0
    settings: dict[str, Any] = {}
    for change in filter(None, changes.split(",")):
        name, _, value = change.partition("=")
        if name == "family":
            family = value
        elif name == "dim":
            dim = int(value)
        elif name == "seed":
            seed = int(value)
        else:
            settings[name] = orjson.loads(value)
    codebook = jsonvec.Codebook(
        dim=dim, seed=seed, settings=jsonvec.Settings().replace(**settings), family=family
    )
    return label, codebook


#: methods whose stored vectors (the originals) are kept in a reduced type, as a vectors
#: file of ``encode --dtype`` keeps them and its readers read them back; queries stay float32
STORED: dict[str, str] = {}


def stored(method: str, vectors: np.ndarray) -> np.ndarray:
    """The originals' vectors as a search reads them from a file of the method's type."""
    dtype = STORED.get(method)
    return vectors if dtype is None else dtypes.unpack(dtypes.pack(vectors, dtype))


def run_corpus(
    path: Path, limit: int, copies: int, chosen: dict[str, Method], fit: bool
) -> dict[tuple[str, str], tuple[float, float]]:
    originals = load(path, limit)
    if fit:
        fitted = jsonvec.Codebook(settings=fit_settings(originals))
        chosen = {**chosen, "jsonvec+fit": lambda values: jsonvec.encode_batch(values, fitted)}
    groups = content_groups(originals)
    rng = random.Random(f"{SEED}/{path.stem}")
    targets = np.array(sorted(rng.sample(range(len(originals)), min(copies, len(originals)))))
    perturbed = {
        name: [fn(originals[t], random.Random(f"{SEED}/{path.stem}/{name}/{t}")) for t in targets]
        for name, fn in PERTURBATIONS.items()
    }
    results = {}
    for method, embed in chosen.items():
        started = time.perf_counter()
        base = stored(method, embed(originals))
        for name, values in perturbed.items():
            results[(name, method)] = recall_and_mrr(base, embed(values), targets, groups)
        seconds = time.perf_counter() - started
        print(f"  {path.stem} {method}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--corpus", action="append", help="corpus name (file stem), repeatable")
    parser.add_argument("--no-minilm", action="store_true")
    parser.add_argument("--fit", action="store_true", help="also jsonvec with `codebook fit`")
    parser.add_argument(
        "--haar", action="store_true", help="also jsonvec's leaves bound by dense Haar matrices"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:NAME=VALUE,...",
        help="also jsonvec with changed settings (atom_nonzeros=4) or family=dense-haar",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="also report jsonvec's mean over codebook seeds 0..N-1 (jsonvec-N-seeds)",
    )
    parser.add_argument(
        "--dtypes",
        action="store_true",
        help="also jsonvec with the originals stored as float16 and as int8 (encode --dtype)",
    )
    parser.add_argument("--write", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no corpora at {args.data}: nothing to measure", file=sys.stderr)
        return
    paths = sorted(args.data.glob("*.jsonl"))
    if args.corpus:
        paths = [p for p in paths if p.stem in args.corpus]
    chosen = methods(not args.no_minilm)
    if args.haar:
        from families import HaarEncoder  # noqa: PLC0415

        chosen["jsonvec-haar"] = lambda values: HaarEncoder().encode_batch(values)
    for spec in args.variant:
        label, codebook = variant(spec)
        chosen[label] = lambda values, book=codebook: jsonvec.encode_batch(values, book)
    if args.dtypes:
        for dtype in ("float16", "int8"):
            chosen[f"jsonvec-{dtype}"] = jsonvec.encode_batch
            STORED[f"jsonvec-{dtype}"] = dtype
    seeded = [f"jsonvec@{seed}" for seed in range(1, args.seeds)]
    for label in seeded:
        book = jsonvec.Codebook(seed=int(label.partition("@")[2]))
        chosen[label] = lambda values, book=book: jsonvec.encode_batch(values, book)
    table: dict[str, dict[tuple[str, str], tuple[float, float]]] = {}
    for path in paths:
        table[path.stem] = mean_over_seeds(
            run_corpus(path, args.limit, args.copies, chosen, args.fit), seeded
        )
    names = list(next(iter(table.values()))) if table else []
    text = render(table, list(dict.fromkeys(m for _, m in names)), args)
    print(text)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")


def mean_over_seeds(
    results: dict[tuple[str, str], tuple[float, float]], seeded: list[str]
) -> dict[tuple[str, str], tuple[float, float]]:
    """Add "jsonvec-seeds", the mean of jsonvec (seed 0) and the ``seeded`` methods (the
    same settings under other codebook seeds), and drop those: one draw of the random atoms
    and roles moves a small corpus's recall by a few hundredths."""
    if not seeded:
        return results
    out = {key: value for key, value in results.items() if key[1] not in seeded}
    for perturbation in dict.fromkeys(p for p, _ in results):
        runs = [results[(perturbation, m)] for m in ["jsonvec", *seeded]]
        out[(perturbation, f"jsonvec-{len(runs)}-seeds")] = (
            sum(r for r, _ in runs) / len(runs),
            sum(m for _, m in runs) / len(runs),
        )
    return out


def render(
    table: dict[str, dict[tuple[str, str], tuple[float, float]]],
    names: list[str],
    args: argparse.Namespace,
) -> str:
    command = "python bench/quality.py " + " ".join(sys.argv[1:])
    lines = [
        "# Finding the same record: recall@1 (mean reciprocal rank)",
        "",
        f"Command: `{command.strip()}`. jsonvec {jsonvec.__version__}, default codebook "
        f"(dim {DIM}, seed 0, fingerprint {jsonvec.default_codebook().fingerprint}); "
        f"FeatureHasher dim {DIM}; perturbation seed {SEED}; up to {args.limit} records and "
        f"{args.copies} perturbed copies per corpus; {platform.machine()}, "
        f"Python {platform.python_version()}.",
        "",
        "## Mean over corpora",
        "",
        "| perturbation | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for pert in PERTURBATIONS:
        cells = []
        for method in names:
            vals = [r[(pert, method)] for r in table.values()]
            cells.append(
                f"{np.mean([v[0] for v in vals]):.3f} ({np.mean([v[1] for v in vals]):.3f})"
            )
        lines.append(f"| {pert} | " + " | ".join(cells) + " |")
    lines += ["", "## Per corpus", "", "| corpus | perturbation | " + " | ".join(names) + " |"]
    lines.append("|---|---|" + "---:|" * len(names))
    for corpus, results in table.items():
        for pert in PERTURBATIONS:
            cells = [f"{results[(pert, m)][0]:.3f} ({results[(pert, m)][1]:.3f})" for m in names]
            lines.append(f"| {corpus} | {pert} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
