"""Faults on a Dask run: a worker killed mid-run, the client interrupted or killed.

Real local clusters of worker processes on loopback. Each run spreads its input over many
partitions and both workers; tests are repeated (a cluster takes seconds to start, so three
times rather than the ten of tests/run/test_faults.py). Time limits detect hangs only.
"""

from __future__ import annotations

import functools
import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jsonvec import Encoder
from jsonvec.records.reader import read_lines
from jsonvec.run.encode_file import encode_to
from jsonvec.run.options import EncodeOptions
from jsonvec.storage.collection import Collection
from tests.helpers import jsonvec, spawned

distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
psutil = pytest.importorskip("psutil", reason="comes with distributed")

from jsonvec.dask import ClusterError, connect, encode_files  # noqa: E402

REPEAT = 3
HANG = 60  # seconds: far beyond a run's time
BIG = 80_000  # records of the big input


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 80,000 distinct records, 7 MB: a few seconds of encoding on two workers, so a
    worker killed once the first part is written dies mid-run."""
    path = tmp_path_factory.mktemp("input") / "big.jsonl"
    lines = (
        b'{"id": "r%d", "user": {"name": "n%d", "age": %d}, "tags": ["t%d", "u%d"], '
        b'"text": "word%d other%d"}\n' % (i, i % 997, i % 90, i % 13, i % 31, i, i * 7)
        for i in range(BIG)
    )
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh local cluster of two workers, for one test (its workers get killed)."""
    failures = getattr(request, "param", 3)
    with connect(workers=2) as client:
        client.run_on_scheduler(_set_allowed_failures, failures=failures)
        yield client


def _set_allowed_failures(failures: int, dask_scheduler: Any = None) -> None:
    dask_scheduler.allowed_failures = failures


def staging_of(out: Path, seconds: float = HANG) -> bool:
    """Wait until a run is encoding into ``out`` (its staging folder exists)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if out.is_dir() and any(p.name.startswith(".jsonvec-run-") for p in out.iterdir()):
            return True
        time.sleep(0.02)
    return False


def kill_a_worker_mid_run(client: Any, out: Path) -> None:
    """SIGKILL a worker while it encodes a range (not while it counts lines, whose results
    Dask recomputes elsewhere without counting a failure), whatever the machine's load."""
    assert staging_of(out)
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        busy = [worker for worker, keys in client.processing().items()
                if any("_encode_range" in str(key) for key in keys)]  # fmt: skip
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.01)
    pytest.fail("no worker was seen encoding a range")


def in_background(run: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["summary"] = run()
        except BaseException as exc:  # handed to the test
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_a_worker_killed_mid_run_is_replaced_and_every_record_written_once(
    cluster: Any, big: Path, tmp_path: Path, repeat: int
) -> None:
    """Dask runs the dead worker's tasks again: the output is that of one machine."""
    out = tmp_path / "out"
    run = functools.partial(encode_files, [str(big)], str(out), id_field="id",
                            partition_size=200_000, client=cluster)  # fmt: skip
    thread, result = in_background(run)
    kill_a_worker_mid_run(cluster, out)
    assert thread.is_alive(), "the run ended before the worker was killed"
    thread.join(HANG)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    one = tmp_path / "one.parquet"
    encode_to(str(one), read_lines([str(big)]), Encoder(), EncodeOptions(id_field="id"),
              stdout=io.BytesIO())  # fmt: skip
    got, expected = Collection.open([str(out)]), Collection.open([str(one)])
    assert got.count == expected.count == BIG
    assert got.ids(range(got.count)) == expected.ids(range(expected.count))
    vectors = [np.concatenate([b for _, b in c.chunks()]) for c in (got, expected)]
    assert vectors[0].tobytes() == vectors[1].tobytes()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("part-")) == [
        "_jsonvec_manifest.json"
    ]


@pytest.mark.parametrize("cluster", [0], indirect=True, ids=["no retries"])
@pytest.mark.parametrize("repeat", range(REPEAT))
def test_a_run_dask_gives_up_on_is_one_error_and_lists_nothing(
    cluster: Any, big: Path, tmp_path: Path, repeat: int
) -> None:
    out = tmp_path / "out"
    thread, result = in_background(
        lambda: encode_files([str(big)], str(out), partition_size=200_000, client=cluster)
    )
    kill_a_worker_mid_run(cluster, out)
    assert thread.is_alive(), "the run ended before the worker was killed"
    thread.join(HANG)
    assert not thread.is_alive()
    assert isinstance(result.get("error"), ClusterError), result
    assert str(result["error"]) == (
        "workers died running one task of the run, 1 time (out of memory?); Dask gave up "
        "(distributed.scheduler.allowed-failures)"
    )
    assert list(out.iterdir()) == []


def processes_of(pid: int) -> list[Any]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def all_gone(processes: list[Any], seconds: float = 10.0) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return not alive


def started(out: Path, big: Path) -> list[str]:
    return jsonvec("encode", big, "-o", f"{out}/", "--engine", "dask", "--id-field", "id",
                   "--partition-size", "100KB", "-q")  # fmt: skip


@pytest.mark.parametrize("repeat", range(REPEAT))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_client_closes_the_local_cluster_and_commits_nothing(
    big: Path, tmp_path: Path, sig: signal.Signals, repeat: int
) -> None:
    """Also when the interrupt lands in a garbage-collector callback of distributed, where
    Python drops it (1 run in 6 before jsonvec noted it: jsonvec.dask.cluster)."""
    out = tmp_path / "out"
    with spawned(started(out, big), stderr=subprocess.PIPE) as proc:
        assert staging_of(out)
        workers = processes_of(proc.pid)
        assert len(workers) >= 2
        time.sleep(0.1 * repeat)  # at several points of the run
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=HANG)
        assert all_gone(workers), "worker processes outlived the run"
    interrupted = sig == signal.SIGINT
    assert proc.returncode == (130 if interrupted else 143)
    assert stderr == (b"Error: interrupted\n" if interrupted else b"Error: terminated\n")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_sigkill_of_the_client_leaves_no_process_and_no_listed_part(
    big: Path, tmp_path: Path, repeat: int
) -> None:
    out = tmp_path / "out"
    with spawned(started(out, big)) as proc:
        assert staging_of(out)
        workers = processes_of(proc.pid)
        assert len(workers) >= 2
        proc.kill()
        proc.wait(timeout=HANG)
        assert all_gone(workers), "worker processes outlived the client"
    assert not (out / "_jsonvec_manifest.json").exists()
    assert not list(out.glob("part-*"))  # parts stay in the hidden staging folder
