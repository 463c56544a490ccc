"""Faults during a run with worker processes: never a hang, a traceback, a lost file or a
process left behind.

Every test runs a real ``jsonvec encode`` over many batches with ``--jobs 2``, and each is
repeated ten times, enough to catch a race that strikes one run in ten. The time limits are
hang detectors (a run takes about a second), not speed measurements.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import jsonvec, run, spawned

REPEAT = 10
HANG = 30  # seconds: far beyond a run's time; a run that takes this long is stuck
MANY = ["--batch-size", "16", "--jobs", "2"]


@pytest.fixture
def data(samples: Path, tmp_path: Path) -> Path:
    path = tmp_path / "big.jsonl"
    path.write_bytes((samples / "products.jsonl").read_bytes() * 200)  # 1,600 lines
    return path


def group_gone(group: int, seconds: float = 5.0) -> bool:
    """Whether every process of ``group`` ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def has_workers(pid: int, seconds: float = HANG) -> bool:
    """Wait until process ``pid`` has started its worker process (``--jobs 2``: itself and
    one worker)."""
    deadline = time.monotonic() + seconds
    children = Path(f"/proc/{pid}/task/{pid}/children")
    while time.monotonic() < deadline:
        try:
            if children.read_text().split():
                return True
        except OSError:
            return False
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_a_closed_pipe_ends_with_141(data: Path, repeat: int) -> None:
    """`encode -o - | head -c 100`: exit 141 (as for cat), nothing on stderr, no hang."""
    encode = " ".join(jsonvec("encode", data, "-o", "-", *MANY))
    done = run(["bash", "-c", f"{encode} | head -c 100; exit ${{PIPESTATUS[0]}}"], timeout=HANG)
    assert len(done.stdout) == 100
    assert done.stderr == b""
    assert done.returncode == 141


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_a_full_stdout_is_one_line(data: Path, repeat: int) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "wb") as full:
        done = run(jsonvec("encode", data, "-o", "-", *MANY), stdout=full, timeout=HANG)
    assert done.returncode == 1
    assert done.stderr == b"Error: stdout: cannot write: No space left on device\n"


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_a_full_disk_is_one_line_and_leaves_nothing(
    data: Path, tmp_path: Path, repeat: int
) -> None:
    """A file-size limit (as on a full disk, writes fail): exit 1, one line, old output kept."""
    out = tmp_path / "v.parquet"
    out.write_bytes(b"previous")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    done = run(jsonvec("encode", data, "-o", out, "-q", *MANY), preexec_fn=limit, timeout=HANG)
    assert done.returncode == 1
    assert done.stderr.decode().startswith(f"Error: {out}: cannot write: File too large")
    assert len(done.stderr.splitlines()) == 1
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl", "v.parquet"]


def started_run(out: Path, samples: Path) -> tuple[list[str], bytes]:
    """A run reading stdin, fed many batches and kept waiting for more."""
    command = jsonvec("encode", "-o", out, "-q", *MANY)
    return command, (samples / "products.jsonl").read_bytes() * 40


@pytest.mark.parametrize("repeat", range(REPEAT))
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_keeps_the_previous_output(
    samples: Path, tmp_path: Path, sig: signal.Signals, repeat: int
) -> None:
    """SIGINT or SIGTERM mid-run: exit 130 or 143, one line, the old output, no process left."""
    out = tmp_path / "v.parquet"
    out.write_bytes(b"previous")
    command, feed = started_run(out, samples)
    with spawned(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        proc.stdin.write(feed)
        proc.stdin.flush()  # and the input stays open: the run waits for more
        assert has_workers(proc.pid)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=HANG)
        assert group_gone(proc.pid)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130)
    assert stderr == (b"Error: terminated\n" if sig == signal.SIGTERM else b"Error: interrupted\n")
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["v.parquet"]


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_after_sigkill_no_process_remains(samples: Path, tmp_path: Path, repeat: int) -> None:
    """SIGKILL cannot be handled: the workers die with the main process, and the file being
    written has no name until it is complete."""
    out = tmp_path / "v.parquet"
    out.write_bytes(b"previous")
    command, feed = started_run(out, samples)
    with spawned(command, stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        proc.stdin.write(feed)
        proc.stdin.flush()
        assert has_workers(proc.pid)
        proc.kill()
        proc.wait(timeout=HANG)
        assert group_gone(proc.pid), "worker processes outlived the main process"
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["v.parquet"]


@pytest.mark.parametrize("repeat", range(REPEAT))
def test_a_worker_killed_mid_run_is_one_line(samples: Path, tmp_path: Path, repeat: int) -> None:
    """A worker killed from outside (the out-of-memory killer, say) ends the run with exit 1
    and one line, the old output kept and no process left: never a wait."""
    out = tmp_path / "v.parquet"
    out.write_bytes(b"previous")
    command, feed = started_run(out, samples)
    with spawned(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        proc.stdin.write(feed)
        proc.stdin.flush()
        assert has_workers(proc.pid)
        worker = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
        os.kill(worker, signal.SIGKILL)
        with contextlib.suppress(BrokenPipeError):  # the run may have ended already
            proc.stdin.write(feed)  # more batches for the dead worker
            proc.stdin.close()
        proc.wait(timeout=HANG)
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        assert group_gone(proc.pid)
    assert proc.returncode == 1
    assert stderr == b"Error: a worker process stopped unexpectedly (out of memory?)\n"
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["v.parquet"]
