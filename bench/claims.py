"""The method's claims, shown: stability, non-commutativity, capacity, decoding on real data.

Usage:  python bench/claims.py [--data DIR] [--out docs/claims] [--write docs/claims.md]

1. Stability: ‖M^k x‖ and the change of cosines, cos(M^k x, M^k y) - cos(x, y), for k = 1…50:
   Gaussian matrices N(0, 1/dim) against the codebook's role matrices (signed permutations),
   dim 256 and 1024.
2. Non-commutativity: cosines of pairs that differ only in structure (nesting swapped, key and
   value swapped, an array reversed or rotated, keys reordered): jsonvec, flatten +
   FeatureHasher, and an element-wise (commutative) binding of the same kind of atoms.
3. Capacity: `probe` top-1 against fields per record (1…200) at dim 256, 1024 and 4096, flat
   and nested, against what ``sqrt(dim / n)`` predicts for a Gaussian crosstalk.
4. Decoding on real data: `probe` top-1 per field on three corpora, every record, candidates
   the field's distinct values in the corpus.

Plots (PNG, matplotlib from the bench extra) go to --out; tables to stdout and --write.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import flatten, hasher_values

from jsonvec import Codebook, Encoder, SignedPermutation
from jsonvec.codebook.atoms import random_words
from jsonvec.encoding.probe import cleanup, unbind

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HERE = Path(__file__).resolve().parent


def _plot() -> Any:
    import matplotlib  # noqa: PLC0415 - the bench extra

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


# -- 1. stability --------------------------------------------------------------------------


def stability(out: Path) -> list[str]:
    rng = np.random.default_rng(1)
    ks = np.arange(1, 51)
    lines = [
        "| dim | matrix | ‖M^k x‖ at k=10 | at k=50 | max |Δcos| up to k=50 |",
        "|---:|---|---:|---:|---:|",
    ]
    plt = _plot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for dim in (256, 1024):
        gaussian = rng.standard_normal((dim, dim)) / np.sqrt(dim)
        role = SignedPermutation.from_seed(0, "key", "claims", dim)
        x = rng.standard_normal((20, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y = x + 0.8 * rng.standard_normal((20, dim)) / np.sqrt(dim)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        before = np.sum(x * y, axis=1)
        for name, apply in (
            ("Gaussian N(0, 1/dim)", lambda v, g=gaussian: v @ g.T),
            ("signed permutation", role.apply),
        ):
            gx, gy = x.copy(), y.copy()
            norms, drift = [], []
            for _ in ks:
                gx, gy = apply(gx), apply(gy)
                nx, ny = np.linalg.norm(gx, axis=1), np.linalg.norm(gy, axis=1)
                norms.append(float(np.mean(nx)))
                drift.append(float(np.max(np.abs(np.sum(gx * gy, axis=1) / (nx * ny) - before))))
            lines.append(
                f"| {dim} | {name} | {norms[9]:.3g} | {norms[49]:.3g} | {max(drift):.3g} |"
            )
            axes[0].semilogy(ks, norms, label=f"{name}, dim {dim}")
            axes[1].plot(ks, drift, label=f"{name}, dim {dim}")
    axes[0].set(xlabel="k", ylabel="mean ‖M^k x‖", title="Norm after k bindings")
    axes[1].set(xlabel="k", ylabel="max |cos change|", title="Cosine distortion")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "stability.png", dpi=100)
    plt.close(fig)
    return lines


# -- 2. non-commutativity ------------------------------------------------------------------

PAIRS: list[tuple[str, Any, Any]] = [
    ("nesting swapped", {"user": {"name": "Ann"}}, {"name": {"user": "Ann"}}),
    ("key and value swapped", {"color": "red"}, {"red": "color"}),
    ("array reversed", {"xs": ["a", "b", "c", "d"]}, {"xs": ["d", "c", "b", "a"]}),
    ("array rotated", {"xs": ["a", "b", "c", "d"]}, {"xs": ["b", "c", "d", "a"]}),
    ("keys reordered", {"a": "x", "b": "y", "c": "z"}, {"c": "z", "a": "x", "b": "y"}),
]


def _sign_atom(name: str, dim: int) -> np.ndarray:
    bits = random_words(0, "claims", name, dim // 64 + 1).view(np.uint8)
    return 1.0 - 2.0 * np.unpackbits(bits)[:dim].astype(np.float64)


def elementwise(dim: int) -> Any:
    """Commutative binding (as in MAP-style VSAs): a leaf is the element-wise product of the
    ±1 atoms of its keys (array positions as keys ``[i]``) and of its value, one atom per
    symbol whether key or value; a record is the sum of its leaves."""

    def steps(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if isinstance(value, dict):
            for key, child in value.items():
                yield from steps(child, (*path, key))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                yield from steps(child, (*path, f"[{i}]"))
        else:
            yield path, value

    def embed(values: list[Any]) -> np.ndarray:
        out = np.zeros((len(values), dim))
        for row, value in enumerate(values):
            for path, leaf in steps(value, ()):
                text = leaf if isinstance(leaf, str) else orjson.dumps(leaf).decode()
                vector = _sign_atom(text, dim)  # one atom per symbol, keys and values alike
                for key in path:
                    vector = vector * _sign_atom(key, dim)
                out[row] += vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    return embed


def non_commutativity(out: Path) -> list[str]:
    dim = 1024
    methods = {
        "jsonvec": Encoder(Codebook(dim=dim)).encode_batch,
        "flatten + FeatureHasher": hasher_values(dim),
        "element-wise binding": elementwise(dim),
    }
    lines = ["| pair | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    table = np.zeros((len(PAIRS), len(methods)))
    for i, (_, a, b) in enumerate(PAIRS):
        for j, embed in enumerate(methods.values()):
            va, vb = np.asarray(embed([a, b]), dtype=np.float64)
            table[i, j] = float(va @ vb)
    for i, (label, _, _) in enumerate(PAIRS):
        lines.append(f"| {label} | " + " | ".join(f"{c:.3f}" for c in table[i]) + " |")
    plt = _plot()
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.27
    for j, name in enumerate(methods):
        ax.bar(np.arange(len(PAIRS)) + (j - 1) * width, table[:, j], width, label=name)
    ax.set_xticks(np.arange(len(PAIRS)), [p[0] for p in PAIRS], fontsize=8)
    ax.set(ylabel="cosine of the pair", title="Structure changes (1.0 = not seen)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "noncommutativity.png", dpi=100)
    plt.close(fig)
    return lines


# -- 3. capacity -----------------------------------------------------------------------------

FIELD_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 200)
CANDIDATES = 500


def _words(rng: random.Random, count: int) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4)))
    return sorted(found)


def _predicted(dim: int, n: int, rng: np.random.Generator) -> float:
    """Top-1 if a field's cosine were ``1/sqrt(n)`` plus Gaussian noise of spread
    ``1/sqrt(dim)`` and the other candidates' pure noise."""
    noise = rng.standard_normal((4000, CANDIDATES)) / np.sqrt(dim)
    noise[:, 0] += 1.0 / np.sqrt(n)
    return float(np.mean(np.argmax(noise, axis=1) == 0))


def capacity(out: Path) -> list[str]:
    lines = [
        "| dim | layout | " + " | ".join(str(n) for n in FIELD_COUNTS) + " |",
        "|---:|---|" + "---:|" * len(FIELD_COUNTS),
    ]
    plt = _plot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    noise_rng = np.random.default_rng(3)
    for dim in (256, 1024, 4096):
        book = Codebook(dim=dim)
        encoder = Encoder(book)
        for layout in ("flat", "nested"):
            cells = []
            for n in FIELD_COUNTS:
                rng = random.Random(n)
                vocab = [_words(rng, CANDIDATES) for _ in range(n)]
                paths = [
                    f"f{j}" if layout == "flat" else f"g{j % 4}.h{j // 4}.f{j}" for j in range(n)
                ]
                records = []
                for _ in range(200):
                    record: dict[str, Any] = {}
                    for j, path in enumerate(paths):
                        at = record
                        *heads, last = path.split(".")
                        for head in heads:
                            at = at.setdefault(head, {})
                        at[last] = rng.choice(vocab[j])
                    records.append(record)
                vectors = encoder.encode_batch(records)
                right = 0
                for j, path in enumerate(paths[:20]):  # up to 20 fields read per record
                    best = np.argmax(cleanup(unbind(vectors, path, book), vocab[j], book), axis=1)
                    truth = [_get(r, path) for r in records]
                    right += sum(vocab[j][b] == t for b, t in zip(best, truth, strict=True))
                cells.append(right / (min(n, 20) * len(records)))
            lines.append(f"| {dim} | {layout} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
            ax.semilogx(FIELD_COUNTS, cells, marker="o", label=f"dim {dim}, {layout}")
        predicted = [_predicted(dim, n, noise_rng) for n in FIELD_COUNTS]
        lines.append(f"| {dim} | predicted | " + " | ".join(f"{c:.3f}" for c in predicted) + " |")
        ax.semilogx(FIELD_COUNTS, predicted, linestyle="--", label=f"dim {dim}, predicted")
    ax.set(xlabel="fields per record", ylabel="probe top-1 (500 candidates)",
           title="Capacity: reading one field back")  # fmt: skip
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "capacity.png", dpi=100)
    plt.close(fig)
    return lines


def _get(record: Any, path: str) -> Any:
    for key in path.split("."):
        record = record[key]
    return record


# -- 4. decoding on real data ---------------------------------------------------------------

REAL = ("vega_movies", "usgs_earthquakes", "random_users")


def decoding(data: Path, out: Path) -> list[str]:
    book = Codebook()
    encoder = Encoder(book)
    lines = ["| corpus | field | distinct values | holder's value first |", "|---|---|---:|---:|"]
    plt = _plot()
    fig, axes = plt.subplots(1, len(REAL), figsize=(13, 4))
    for ax, name in zip(axes, REAL, strict=True):
        records = [orjson.loads(x) for x in (data / f"{name}.jsonl").read_bytes().splitlines()]
        vectors = encoder.encode_batch(records)
        paths = Counter(path for r in records for path, _ in flatten(r) if "[" not in path and path)
        shown = []
        for path, seen in sorted(paths.items()):
            if seen < len(records):
                continue  # fields every record has
            truth = [_get(r, path) for r in records]
            distinct = list({orjson.dumps(v): v for v in truth}.values())
            if len(distinct) < 2:
                continue
            scores = cleanup(unbind(vectors, path, book), distinct, book)
            best = np.argmax(scores, axis=1)
            right = float(
                np.mean([_same(distinct[b], t) for b, t in zip(best, truth, strict=True)])
            )
            lines.append(f"| {name} | {path} | {len(distinct):,} | {right:.3f} |")
            shown.append((path, right))
        ax.barh([p for p, _ in shown], [r for _, r in shown])
        ax.set(xlim=(0, 1), title=name, xlabel="top-1")
        ax.tick_params(axis="y", labelsize=6)
    fig.tight_layout()
    fig.savefig(out / "decoding.png", dpi=100)
    plt.close(fig)
    return lines


def _same(a: Any, b: Any) -> bool:
    return orjson.dumps(a) == orjson.dumps(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "claims")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sections = {
        "1. Stability": stability(args.out),
        "2. Non-commutativity": non_commutativity(args.out),
        "3. Capacity": capacity(args.out),
        "4. Decoding on real data": decoding(args.data, args.out),
    }
    text = "\n\n".join(f"### {title}\n\n" + "\n".join(rows) for title, rows in sections.items())
    print(text)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
