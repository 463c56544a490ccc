"""Role-matrix families compared: norm stability, decoding accuracy, cost (a benchmark).

Usage:  python bench/algebra.py [--dim 1024] [--trials 200]

1. Norm drift: ``||M^k x||`` for Gaussian M (entries N(0, 1/dim)), for a dense Haar orthogonal
   matrix and for jsonvec's signed permutation, k = 20.
2. Decoding: records of n fields ``{k_i: v_i}`` (values from a vocabulary of 1,000 atoms) are
   bundled as ``Σ Q_k a_v / sqrt(n)``; unbinding with ``Q_kᵀ`` and picking the nearest
   vocabulary atom must give ``v_i`` back. Accuracy per n, for Haar and signed permutations.
3. Cost: bytes per role matrix and microseconds per binding of one vector.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable

import numpy as np

from jsonvec.codebook.atoms import atom
from jsonvec.codebook.roles import SignedPermutation

Bind = Callable[[np.ndarray], np.ndarray]


def haar(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian, signs of diag(R) folded in)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def norm_drift(dim: int, trials: int, rng: np.random.Generator) -> list[str]:
    rows = []
    for name, make in [
        ("Gaussian N(0, 1/dim)", lambda: rng.standard_normal((dim, dim)) / np.sqrt(dim)),
        ("dense Haar orthogonal", lambda: haar(rng, dim)),
        (
            "signed permutation",
            lambda: SignedPermutation.from_seed(int(rng.integers(2**32)), "k", "", dim).matrix(),
        ),
    ]:
        norms = []
        for _ in range(max(trials // 20, 5)):
            m = make()
            x = rng.standard_normal(dim)
            x /= np.linalg.norm(x)
            for _ in range(20):
                x = m @ x
            norms.append(np.linalg.norm(x))
        a = np.array(norms)
        rows.append(f"| {name} | {a.mean():.4f} ± {a.std():.4f} | {a.min():.4f} to {a.max():.4f} |")
    return rows


def decoding(dim: int, trials: int, rng: np.random.Generator) -> list[str]:
    """Accuracy per fields per record: for sparse atoms (8 entries, the default) and dense
    atoms, bound by dense Haar matrices and by signed permutations."""
    vocabs = [
        np.stack([atom(1, "bench", f"v{i}", dim, nonzeros) for i in range(1000)])
        for nonzeros in (8, dim)
    ]
    dense = [haar(rng, dim) for _ in range(64)]
    perms = [SignedPermutation.from_seed(2, "key", f"k{i}", dim) for i in range(64)]
    families: dict[str, tuple[list[Bind], list[Bind]]] = {
        "dense Haar": (
            [lambda x, q=q: q @ x for q in dense],
            [lambda y, q=q: q.T @ y for q in dense],
        ),
        "signed permutation": (
            [p.apply for p in perms],
            [p.apply_transpose for p in perms],
        ),
    }
    rows = []
    for n in (4, 16, 32, 64):
        cells = []
        for vocab, (bind, unbind) in itertools.product(vocabs, families.values()):
            hits = 0
            for _ in range(max(trials // n, 4)):
                values = rng.integers(0, len(vocab), n)
                record = sum(bind[i](vocab[v]) for i, v in enumerate(values)) / np.sqrt(n)
                for i, v in enumerate(values):
                    hits += int(np.argmax(vocab @ unbind[i](record)) == v)
            cells.append(hits / (max(trials // n, 4) * n))
        rows.append(f"| {n} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return rows


def cost(dim: int, rng: np.random.Generator) -> list[str]:
    q = haar(rng, dim).astype(np.float32)
    p = SignedPermutation.from_seed(0, "key", "a", dim)
    x = rng.standard_normal(dim).astype(np.float32)
    rows = []
    for name, size, fn in [
        ("dense Haar (float32)", q.nbytes, lambda: q @ x),
        ("signed permutation", 0, lambda: p.apply(x)),
    ]:
        started = time.perf_counter()
        for _ in range(2000):
            fn()
        micros = (time.perf_counter() - started) / 2000 * 1e6
        stored = f"{size / 1e6:.1f} MB" if size else "0 (derived from seed and key)"
        rows.append(f"| {name} | {stored} | {micros:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"dim {args.dim}\n\n| matrix | ‖M^20 x‖ mean ± sd | range |\n|---|---|---|")
    print("\n".join(norm_drift(args.dim, args.trials, rng)))
    print(
        "\n| fields n | sparse atoms, dense Haar | sparse atoms, signed permutation | "
        "dense atoms, dense Haar | dense atoms, signed permutation |\n|---:|---:|---:|---:|---:|"
    )
    print("\n".join(decoding(args.dim, args.trials, rng)))
    print("\n| family | stored per key | µs per binding |\n|---|---|---:|")
    print("\n".join(cost(args.dim, rng)))


if __name__ == "__main__":
    main()
