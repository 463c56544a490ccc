"""Options declared once and meaning the same in every command: -q, --codebook, -n, --plain,
--threshold, --input-format; usage errors exit 2 everywhere; inputs expanded one way."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from jsonvec.cli import cli
from jsonvec.codebook.codebook import Codebook
from jsonvec.codebook.files import save_codebook
from tests.storage.test_guard import commands

MANY = ["--batch-size", "4", "--jobs", "2"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: object) -> Result:
    return runner.invoke(cli, [str(a) for a in args])


@pytest.fixture
def stored(tmp_path: Path, samples: Path, runner: CliRunner) -> dict[str, Path]:
    records = tmp_path / "people.jsonl"
    records.write_bytes((samples / "people.jsonl").read_bytes())
    vectors = tmp_path / "people.parquet"
    done = invoke(runner, "encode", records, "-o", vectors, "--id-field", "id", "--keep-records")
    assert done.exit_code == 0, done.output
    return {"records": records, "vectors": vectors}


def test_q_is_quiet_in_every_command() -> None:
    for words, command in commands():
        named = {opt: param.name for param in command.params for opt in param.opts}
        assert named.get("-q") == "quiet", words
        assert named.get("--quiet") == "quiet", words


@pytest.mark.parametrize("option", ["--codebook", "-n", "--plain", "--threshold", "--input-format"])
def test_a_shared_option_is_the_same_wherever_it_is(option: str) -> None:
    """Declared once: the same type, metavar and flags in every command that has it."""
    seen = set()
    for _, command in commands():
        for param in command.params:
            if option in param.opts:
                kind = type(param.type).__name__
                seen.add((kind, param.metavar, tuple(param.opts), getattr(param, "is_flag", False)))
    assert len(seen) == 1, seen


@pytest.mark.parametrize("value", ["2", "-1.5", "nan", "NaN", "inf", "x"])
def test_a_threshold_is_a_score(runner: CliRunner, stored: dict[str, Path], value: str) -> None:
    result = invoke(runner, "similar", stored["vectors"], "--id", "p01", "--threshold", value)
    assert result.exit_code == 2
    assert "--threshold" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", ["-1", "1", "0.5", "-0.25"])
def test_a_score_is_a_threshold(runner: CliRunner, stored: dict[str, Path], value: str) -> None:
    result = invoke(runner, "similar", stored["vectors"], "--id", "p01", "--threshold", value)
    assert result.exit_code == 0, result.output


def noisy(stored: dict[str, Path], tmp_path: Path) -> list[list[object]]:
    """A command line of each command that has something to say on stderr."""
    vectors, records = stored["vectors"], stored["records"]
    return [
        ["encode", records, "-o", tmp_path / "v.npy", *MANY],
        ["similar", vectors, '{"zzz": "qqq"}'],  # a weak best hit
        ["similar", vectors, "--by-field", '{"nmae": "Ann"}'],  # a path no record holds
        ["similar", vectors, "--id", "p01", "--where", "ctiy=Madrid"],
        ["similar", vectors, "--id", "p01", "--threshold", "0.99"],  # no hits
        ["probe", vectors, "--path", "nmae", "--candidates", records],
        ["codebook", "new", "-o", tmp_path / "new.jvc"],
        ["codebook", "fit", records, "-o", tmp_path / "fit.jvc"],
        ["index", "build", vectors, "-o", tmp_path / "v.usearch"],
        ["index", "check", tmp_path / "v.usearch", vectors],
    ]


def test_every_command_that_speaks_can_be_silenced(
    runner: CliRunner, stored: dict[str, Path], tmp_path: Path
) -> None:
    for args in noisy(stored, tmp_path):
        loud = invoke(runner, *args)
        assert loud.exit_code == 0, (args, loud.output)
        assert loud.stderr, args
        quiet = invoke(runner, *args, "-q")
        assert quiet.exit_code == 0, (args, quiet.output)
        assert quiet.stderr == "", args
        assert quiet.stdout == loud.stdout, args


def test_quiet_keeps_errors(runner: CliRunner, stored: dict[str, Path]) -> None:
    result = invoke(runner, "similar", stored["vectors"], "--id", "nobody", "-q")
    assert result.exit_code == 1
    assert result.stderr == "Error: id 'nobody' is not in the vectors\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode", "RECORDS", "-o", "x.npy", "--append"], "--append needs a .parquet file"),
        (["encode", "RECORDS", "-o", "x.jsonl", "--append"], "--append needs a .parquet file"),
        (["encode", "RECORDS", "-o", "-", "--append"], "--append needs a .parquet file"),
        (["encode", "RECORDS", "-o", "vec2/"], "vec2/ is a folder: --append adds a part of "
         "Parquet vectors to it, and --engine dask writes a folder of parts"),
        (["encode", "RECORDS", "-o", "x.txt"], "cannot tell the output format"),
        (["similar", "VECTORS", "--id", "p01", "-n", "0"], "-n"),
        (["probe", "VECTORS", "--path", "name", "-n", "0"], "-n"),
        (["encode", "RECORDS", "-o", "x.npy", "--input-format", "yaml"], "--input-format"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_everywhere(
    runner: CliRunner,
    stored: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    names = {"RECORDS": stored["records"], "VECTORS": stored["vectors"]}
    many = MANY if args[0] == "encode" else []
    result = invoke(runner, *[names.get(a, a) for a in args], *many)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.jsonl", "people.parquet"]


def test_a_codebook_given_is_checked_whatever_the_query(
    runner: CliRunner, stored: dict[str, Path], tmp_path: Path
) -> None:
    vectors = stored["vectors"]
    for query in (["--id", "p01"], ['{"name": "Ann"}']):
        damaged = invoke(runner, "similar", vectors, *query, "--codebook", "/etc/passwd")
        assert damaged.exit_code == 1
        assert damaged.stderr.startswith("Error: /etc/passwd: ")
        other = tmp_path / "other.jvc"
        save_codebook(Codebook(seed=9), other)
        mismatch = invoke(runner, "similar", vectors, *query, "--codebook", other)
        assert mismatch.exit_code == 1
        assert "the vectors were encoded with codebook" in mismatch.stderr
        assert mismatch.stdout == ""


def test_inputs_are_expanded_the_same_way_everywhere(
    runner: CliRunner, stored: dict[str, Path], tmp_path: Path, samples: Path
) -> None:
    """Files, a folder and a quoted glob give the same records to encode, codebook fit and
    probe --from, in name order."""
    day = tmp_path / "days"
    day.mkdir()
    lines = (samples / "people.jsonl").read_bytes().splitlines(keepends=True)
    for i in range(3):
        (day / f"2026-12-0{i + 1}.jsonl").write_bytes(b"".join(lines[i * 4 : i * 4 + 4]))
    (day / "notes.txt").write_text("not records")
    files = sorted(str(p) for p in day.glob("*.jsonl"))
    forms = {"files": files, "folder": [str(day)], "glob": [str(day / "*.jsonl")]}
    outputs = {}
    for form, inputs in forms.items():
        out = tmp_path / f"{form}.npy"
        assert invoke(runner, "encode", *inputs, "-o", out, "-q").exit_code == 0
        outputs[form] = out.read_bytes()
        book = tmp_path / f"{form}.jvc"
        assert invoke(runner, "codebook", "fit", *inputs, "-o", book, "-q").exit_code == 0
        outputs[f"{form} book"] = book.read_bytes()
        probe = invoke(runner, "probe", stored["vectors"], "--path", "city", "--from", inputs[0],
                       "--id", "p01", "-n", "1")  # fmt: skip
        assert probe.exit_code == 0, probe.output
        outputs[f"{form} probe"] = probe.stdout.encode() if form != "files" else b""
    assert outputs["files"] == outputs["folder"] == outputs["glob"]
    assert outputs["files book"] == outputs["folder book"] == outputs["glob book"]
    assert orjson.loads(outputs["glob probe"])["value"] == "Paris"
    assert outputs["glob probe"] == outputs["folder probe"]
    nothing = invoke(runner, "encode", str(day / "*.json"), "-o", tmp_path / "n.npy")
    assert nothing.exit_code == 1
    assert nothing.stderr == f"Error: {day}/*.json: no file matches\n"
