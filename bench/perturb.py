"""Perturbed copies of JSON records, for the quality benchmark (bench/quality.py).

Each perturbation takes a record and a seeded ``random.Random`` and returns a new record:

1. ``reorder``: keys shuffled at every level (content unchanged);
2. ``numbers``: every number scaled by a random factor within ±2%, integers rounded back to
   integers; small integers (|x| <= 100: counts, flags, ratings, small codes) are left alone;
3. ``typos``: one random edit (replace, delete, insert or swap two letters) in each string
   of length >= 4 with probability 0.3;
4. ``drop``: one top-level field removed (one element, for an array record; nothing for a
   scalar record or an object with a single key);
5. ``all``: the four together.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

Perturbation = Callable[[Any, random.Random], Any]
SMALL_INT = 100
TYPO_RATE = 0.3
SCALE = 0.02


def reorder(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: reorder(v, rng) for k, v in items}
    if isinstance(value, list):
        return [reorder(v, rng) for v in value]
    return value


def numbers(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        return {k: numbers(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers(v, rng) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int) and abs(value) <= SMALL_INT:
        return value
    scaled = value * rng.uniform(1 - SCALE, 1 + SCALE)
    return round(scaled) if isinstance(value, int) else scaled


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    letter = rng.choice(string.ascii_lowercase)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + letter + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + letter + text[i:]
    j = min(i + 1, len(text) - 1)
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def typos(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        return {k: typos(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [typos(v, rng) for v in value]
    if isinstance(value, str) and len(value) >= 4 and rng.random() < TYPO_RATE:
        return _typo(value, rng)
    return value


def drop(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict) and len(value) >= 2:
        gone = rng.choice(sorted(value))
        return {k: v for k, v in value.items() if k != gone}
    if isinstance(value, list) and len(value) >= 2:
        gone = rng.randrange(len(value))
        return value[:gone] + value[gone + 1 :]
    return value


def everything(value: Any, rng: random.Random) -> Any:
    return reorder(typos(numbers(drop(value, rng), rng), rng), rng)


PERTURBATIONS: dict[str, Perturbation] = {
    "reorder": reorder,
    "numbers": numbers,
    "typos": typos,
    "drop": drop,
    "all": everything,
}
