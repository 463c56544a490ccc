"""One error hierarchy: every error jsonvec raises on purpose lives in jsonvec.errors, derives
from JsonvecError, and is exported at the top level."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import jsonvec
import jsonvec.errors

PACKAGE = Path(jsonvec.__file__).parent
#: errors that never leave their module: caught where raised, or marking cancelled writes
INTERNAL = {"MalformedError", "CancelledError"}


def test_every_error_is_a_jsonvec_error_exported_at_the_top() -> None:
    errors = {
        name: value
        for name, value in vars(jsonvec.errors).items()
        if inspect.isclass(value) and issubclass(value, Exception)
    }
    assert len(errors) >= 19
    for name, error in errors.items():
        assert issubclass(error, jsonvec.JsonvecError), name
        assert name in jsonvec.__all__, name
        assert getattr(jsonvec, name) is error


def test_no_public_error_is_defined_outside_jsonvec_errors() -> None:
    """Private helpers (a leading underscore) and INTERNAL errors may stay; a public
    ``...Error`` class belongs in jsonvec.errors."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ClassDef)
                and node.name.endswith("Error")
                and not node.name.startswith("_")
                and node.name not in INTERNAL
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert found == []


def test_old_homes_still_name_the_same_classes() -> None:
    from jsonvec.records.paths import PathError  # noqa: PLC0415
    from jsonvec.storage.collection import NotFoundError, VectorsError  # noqa: PLC0415

    assert (NotFoundError, VectorsError, PathError) == (
        jsonvec.NotFoundError, jsonvec.VectorsError, jsonvec.PathError,
    )  # fmt: skip
