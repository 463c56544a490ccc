"""The same bits from the compiled core and the reference, and on every Python.

Usage:  python tests/parity.py

Encodes a fixed, seeded set of records (deep nesting, arrays past the 32 composed positions,
thousands of new keys so the path tree starts over and makes transient nodes, one record with
hundreds of new keys so the reference flushes in the middle of it, numbers and strings at
their edges) with several codebooks, through the compiled core and the reference, and fails
if they differ by a bit. Prints one JSON line: the Python version and a digest of every
codebook's vectors, which ``tests/parity.sh`` compares across the Pythons installed here.
Needs only numpy and orjson besides jsonvec (run it from the repository's root).
"""

from __future__ import annotations

import hashlib
import platform
import random
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jsonvec.codebook.codebook import Codebook
from jsonvec.codebook.settings import Settings
from jsonvec.encoding.encoder import COMPILED, Encoder

NO_CORE = 3  # the exit status when there is no compiled core to compare

BOOKS = {
    "default": Codebook(),
    "weights": Codebook(
        dim=512,
        seed=9,
        settings=Settings(
            field_weights={"name": 2.0, "k0": 0.1, "items[].sku": 3.0, "t": 0.00020825020786417796},
            ignore_fields=("id", "items[].id", "[].id", "meta.ts"),
            set_arrays=("tags", "items[].labels"),
        ),
    ),
    "odd": Codebook(
        dim=1000,
        seed=2**63 + 5,
        settings=Settings(
            atom_nonzeros=5,
            number_exact_nonzeros=3,
            number_anchor_nonzeros=2,
            number_level_widths=(0.25, 3.0),
            number_level_weights=(1.0, 0.2),
            position_chars=3,
            position_words=5,
            leaf_bag_weight=0.4,
            array_set_weight=1.5,
        ),
    ),
}


def value(rng: random.Random, depth: int) -> Any:
    """A random JSON value, nested up to ``depth``."""
    roll = rng.random()
    if depth <= 0 or roll < 0.45:
        return scalar(rng)
    if roll < 0.7:
        size = rng.choice([0, 1, 2, 3, 5, 33, 40]) if rng.random() < 0.3 else rng.randint(0, 4)
        return [value(rng, depth - 1) for _ in range(size)]
    keys = [rng.choice(["id", "name", "k0", "t", "tags", "items", "sku", "meta", "ts", "x"])
            for _ in range(rng.randint(0, 5))]  # fmt: skip
    return {key: value(rng, depth - 1) for key in keys}


def scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -0.0,
            rng.randint(-(10**6), 10**6),
            rng.uniform(-1e6, 1e6),
            rng.choice([2**53 + 1, -(2**63), 2**63 - 1, 2**64 + 7, -(10**40), 1e-310, 1e308]),
            "",
            "".join(rng.choice("aAbB0/ é\u3000x") for _ in range(rng.randint(1, 30))),
            f"{rng.randint(2000, 2030)}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}",
            "word " * rng.randint(1, 8),
        ]
    )


def records() -> list[Any]:
    rng = random.Random(20261206)
    out: list[Any] = [value(rng, 6) for _ in range(200)]
    deep: Any = "leaf"
    for _ in range(60):
        deep = [deep, {"k0": rng.randint(0, 9)}] if rng.random() < 0.2 else [deep]
    out.append(deep)
    out += [{f"user{i * 7 + j}": [j, f"v{j}"] for j in range(7)} for i in range(330)]  # trims
    out.append({f"new{i}": {"t": i, "name": f"n{i}"} for i in range(400)})  # a flush mid-record
    out.append([{"id": 1}, {}, {"id": 2, "meta": {"ts": 3}}])  # objects read as {}
    out.append({"f0": None, "f1": None, "t": None, "k0": None})
    return out


def main() -> None:
    if not COMPILED:
        print(f"parity: the compiled core is not built for Python {platform.python_version()}",
              file=sys.stderr)  # fmt: skip
        sys.exit(NO_CORE)
    values = records()
    digests = {}
    for name, book in BOOKS.items():
        compiled = Encoder(book, compiled=True).encode_batch(values)
        reference = Encoder(book, compiled=False).encode_batch(values)
        differ = [i for i in range(len(values)) if compiled[i].tobytes() != reference[i].tobytes()]
        if differ:
            sys.exit(f"parity: codebook {name}: records {differ[:5]} differ between the core "
                     f"and the reference on Python {platform.python_version()}")  # fmt: skip
        digests[name] = hashlib.sha256(compiled.astype("<f4").tobytes()).hexdigest()[:32]
    print(orjson.dumps({"python": platform.python_version(), "digests": digests}).decode())


if __name__ == "__main__":
    main()
