"""Helpers shared by test modules."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonvec import Codebook, Encoder
from jsonvec.records.reader import read_lines
from jsonvec.run.encode_file import encode_to
from jsonvec.run.options import EncodeOptions

#: seconds any one subprocess of the tests may run before it (and its children) are killed
TIMEOUT = 60


def write_vectors(
    out: Path,
    source: Path,
    codebook: Codebook | None = None,
    id_field: str | None = "id",
    keep_records: bool | None = None,
) -> Path:
    """Encode the JSON Lines file ``source`` into ``out`` through the library."""
    keep = out.suffix == ".parquet" if keep_records is None else keep_records
    options = EncodeOptions(id_field=id_field, keep_records=keep)
    encode_to(str(out), read_lines([str(source)]), Encoder(codebook), options, stdout=io.BytesIO())
    return out


def jsonvec(*args: str | os.PathLike[str]) -> list[str]:
    """The command line that runs jsonvec in a real process."""
    return [sys.executable, "-m", "jsonvec", *map(str, args)]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    command: list[str],
    *,
    input: bytes | None = None,
    timeout: float = TIMEOUT,
    **kwargs: Any,
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run`` with captured output and a timeout that cannot be escaped.

    The command runs in a session of its own; on timeout the whole process group (a shell
    pipeline, worker processes) is killed and :class:`subprocess.TimeoutExpired` raised.
    """
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    with subprocess.Popen(command, start_new_session=True, **kwargs) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate(timeout=10)
            raise
        finally:
            _kill_group(proc)  # nothing the command started may outlive it
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


@contextlib.contextmanager
def spawned(command: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A running process (in a session of its own), killed with its children on leaving."""
    proc = subprocess.Popen(command, start_new_session=True, **kwargs)
    try:
        yield proc
    finally:
        _kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
