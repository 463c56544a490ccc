"""One typo: is the original still the nearest string? jsonvec against an exact edit matcher.

Usage:  python bench/strings.py [--data DIR] [--queries 600] [--seed 7] [--reference]
                                [--variant LABEL:NAME=VALUE,...] [--write docs/quality.md]

Five sets of similar strings:

- dates: every day of 2020-2023 as ``YYYY/MM/DD`` (1,461);
- ids: 2,000 distinct random numbers below 10⁶, zero-padded to 7 digits;
- words: up to 2,000 distinct lower-case words of 5-11 letters from the movie titles and tweets
  of ../shared/data (``vega_movies``, ``twitter_statuses``);
- names: the distinct person names of ``random_users`` (Cyrillic) and the movie directors;
- emails: 2,000 addresses mixing the local parts and domains of ``random_users`` at random.

For each set and each edit kind (substitute, insert, delete, transpose two neighbours) it makes
one edited copy of --queries members picked at random, with characters drawn from the set's
own alphabet, and asks which member is nearest: by cosine of ``jsonvec.encode_batch`` of the
bare strings (default codebook), and by the optimal-string-alignment distance (one edit each
for the four kinds), an exact matcher and the ceiling: a query at distance 1 from several
members is ambiguous, whatever the method. Both are scored the same way: 1 if the original is
the only best, 1/k if it ties with k - 1 others, 0 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

import jsonvec
from jsonvec import Codebook, Encoder, Settings
from jsonvec.search.fields import osa_distance

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
KINDS = ("substitute", "insert", "delete", "transpose")
WORD = re.compile(r"[a-z]{5,11}")


# -- the sets -------------------------------------------------------------------------------


def dates() -> list[str]:
    day = datetime.date(2020, 1, 1)
    out = []
    while day.year < 2024:
        out.append(day.strftime("%Y/%m/%d"))
        day += datetime.timedelta(days=1)
    return out


def ids(rng: random.Random) -> list[str]:
    return [f"{n:07d}" for n in sorted(rng.sample(range(1_000_000), 2000))]


def _lines(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def words(data: Path) -> list[str]:
    texts = [str(r.get("Title", "")) for r in _lines(data / "vega_movies.jsonl")]
    texts += [str(r.get("text", "")) for r in _lines(data / "twitter_statuses.jsonl")]
    found = dict.fromkeys(w for t in texts for w in WORD.findall(t.lower()))
    return list(found)[:2000]


def names(data: Path) -> list[str]:
    found: dict[str, None] = {}
    for user in _lines(data / "random_users.jsonl"):
        found[user["name"]] = None
        for friend in user.get("friends", []):
            found[friend["name"]] = None
    for movie in _lines(data / "vega_movies.jsonl"):
        if isinstance(movie.get("Director"), str):
            found[movie["Director"]] = None
    return list(found)


def emails(data: Path, rng: random.Random) -> list[str]:
    """2,000 addresses of the local parts and domains of ``random_users`` mixed at random."""
    found = [u["email"].split("@") for u in _lines(data / "random_users.jsonl")]
    locals_ = sorted({local for local, _ in found})
    domains = sorted({domain for _, domain in found})
    pairs = rng.sample(range(len(locals_) * len(domains)), min(2000, len(locals_) * len(domains)))
    return [f"{locals_[p % len(locals_)]}@{domains[p // len(locals_)]}" for p in sorted(pairs)]


# -- edits ----------------------------------------------------------------------------------


def edit(text: str, kind: str, alphabet: list[str], rng: random.Random) -> str:
    """``text`` changed by one edit of ``kind`` (the result always differs from ``text``)."""
    n = len(text)
    if kind == "substitute":
        i = rng.randrange(n)
        c = rng.choice([a for a in alphabet if a != text[i]])
        return text[:i] + c + text[i + 1 :]
    if kind == "insert":
        i = rng.randrange(n + 1)
        return text[:i] + rng.choice(alphabet) + text[i:]
    if kind == "delete":
        i = rng.randrange(n)
        return text[:i] + text[i + 1 :]
    places = [i for i in range(n - 1) if text[i] != text[i + 1]]
    i = rng.choice(places)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def credit(scores: np.ndarray, right: int, larger_is_better: bool) -> float:
    """1 if ``right`` is the only best, 1/k for a tie of k, else 0."""
    best = scores.max() if larger_is_better else scores.min()
    if scores[right] != best:
        return 0.0
    return 1.0 / int(np.count_nonzero(scores == best))


def run_set(
    members: list[str],
    queries: int,
    seed: int,
    encoders: dict[str, Callable[[list[str]], np.ndarray]],
) -> dict[str, dict[str, float]]:
    """Rates by edit kind: {"matcher" | label: {kind: rate}}."""
    rng = random.Random(seed)
    alphabet = sorted({c for m in members for c in m})
    chosen = rng.sample(range(len(members)), min(queries, len(members)))
    stored = {label: encode(members) for label, encode in encoders.items()}
    rates: dict[str, dict[str, float]] = {"matcher": {}} | {label: {} for label in encoders}
    for kind in KINDS:
        picks = [i for i in chosen if kind != "transpose" or len(set(members[i])) > 1]
        edited = [edit(members[i], kind, alphabet, rng) for i in picks]
        got = dict.fromkeys(rates, 0.0)
        for q, i in zip(edited, picks, strict=True):
            distances = np.fromiter((osa_distance(q, m) for m in members), np.int64, len(members))
            got["matcher"] += credit(distances, i, larger_is_better=False)
        for label, encode in encoders.items():
            cosines = encode(edited) @ stored[label].T
            for row, i in enumerate(picks):
                got[label] += credit(cosines[row], i, larger_is_better=True)
        for label, rate in rates.items():
            rate[kind] = got[label] / len(picks)
    return rates


def encoder_of(codebook: Codebook, compiled: bool) -> Callable[[list[str]], np.ndarray]:
    encoder = Encoder(codebook, compiled=compiled)
    return encoder.encode_batch


def variant(spec: str) -> tuple[str, Codebook]:
    """``LABEL:NAME=VALUE,...`` -> (label, the default codebook with those settings)."""
    label, _, changes = spec.partition(":")
    settings: dict[str, Any] = {}
    for change in filter(None, changes.split(",")):
        name, _, value = change.partition("=")
        settings[name] = orjson.loads(value)
    return label, Codebook(settings=Settings().replace(**settings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=600, help="edited members per set and kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reference", action="store_true", help="use the Python reference")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:NAME=VALUE,...")
    parser.add_argument("--set", action="append", dest="sets", help="only these sets")
    parser.add_argument("--write", type=Path, help="replace the one-edit section of this file")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sets: dict[str, list[str]] = {"dates": dates(), "ids": ids(rng)}
    if args.data.is_dir():
        sets |= {
            "words": words(args.data),
            "names": names(args.data),
            "emails": emails(args.data, rng),
        }
    else:
        print(f"{args.data} not found: dates and ids only", file=sys.stderr)
    if args.sets:
        sets = {k: v for k, v in sets.items() if k in args.sets}
    compiled = not args.reference
    encoders = {"jsonvec": encoder_of(Codebook(), compiled)}
    for spec in args.variant:
        label, codebook = variant(spec)
        encoders[label] = encoder_of(codebook, compiled)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name, members in sets.items():
        started = time.perf_counter()
        table[name] = run_set(members, args.queries, args.seed, encoders)
        took = time.perf_counter() - started
        print(f"{name}: {len(members)} strings, {took:.1f} s", file=sys.stderr)
    text = render(table, sets, args)
    print(text)
    if args.write:
        write_section(args.write, text)


def render(
    table: dict[str, dict[str, dict[str, float]]],
    sets: dict[str, list[str]],
    args: argparse.Namespace,
) -> str:
    labels = [label for label in next(iter(table.values())) if label != "matcher"]
    lines = [
        "## One edit: is the original still the nearest string?",
        "",
        f"Command: `python bench/strings.py --queries {args.queries} --seed {args.seed}"
        f"{' --write docs/quality.md' if args.write else ''}`. jsonvec {jsonvec.__version__} "
        f"(encoding {jsonvec.version.ENCODING}), default codebook; {args.queries} edited "
        f"members per set and edit kind; {platform.machine()}, Python "
        f"{platform.python_version()}. The matcher is the exact optimal-string-alignment "
        "distance (the ceiling); gap = jsonvec - matcher.",
        "",
        "| set | strings | edit | matcher | " + " | ".join(labels) + " | gap |",
        "|---|---:|---|---:|" + "---:|" * len(labels) + "---:|",
    ]
    worst = 0.0
    for name, rates in table.items():
        for kind in KINDS:
            ceiling = rates["matcher"][kind]
            cells = " | ".join(f"{rates[label][kind]:.3f}" for label in labels)
            gap = rates["jsonvec"][kind] - ceiling
            worst = min(worst, gap)
            lines.append(
                f"| {name} | {len(sets[name]):,} | {kind} | {ceiling:.3f} | {cells} | {gap:+.3f} |"
            )
    lines += ["", f"Largest gap below the matcher: {worst:+.3f}."]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the file's section with the same heading (or add it at the end)."""
    heading = section.splitlines()[0]
    text = path.read_text() if path.exists() else ""
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    path.write_text(text)


if __name__ == "__main__":
    main()
