"""Memory per record is bounded: one huge line is encoded within a few hundred MB.

Each run is measured in a process of its own (``resource.getrusage`` of its children, so that
other tests' processes do not count), not timed.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import jsonvec, run

BOUND_MB = 300

MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, timeout=240)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.stderr.buffer.write(done.stderr)
"""


RNG = random.Random(1)
LINES: dict[str, Callable[[], Any]] = {
    "a million numbers": lambda: {"xs": [RNG.random() * 1e6 for _ in range(1_000_000)]},
    "300,000 strings": lambda: {"xs": [f"w{RNG.getrandbits(60):x}" for _ in range(300_000)]},
    "20,000 keys": lambda: {f"k{i}": i for i in range(20_000)},
    "a 10 MB string": lambda: {"t": " ".join(f"{RNG.getrandbits(30):x}" for _ in range(1_300_000))},
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(LINES))
def test_one_huge_line_in_bounded_memory(tmp_path: Path, name: str) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_bytes(orjson.dumps(LINES[name]()) + b"\n")
    command = [sys.executable, "-c", MEASURE, *jsonvec("encode", path, "-o", tmp_path / "v.npy")]
    done = run(command, timeout=300)
    status, peak_mb = (int(word) for word in done.stdout.split())
    assert status == 0, done.stderr
    assert peak_mb <= BOUND_MB, f"{name}: peak RSS {peak_mb} MB"
