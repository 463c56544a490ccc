"""The public API: typed, documented with examples that run, and listed in docs/api.md.

docs/api.md is generated from the docstrings; after changing the API, write it again with
``python -m tests.api.test_api_docs``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

API_DOC = Path(__file__).parents[2] / "docs" / "api.md"
#: the modules whose ``__all__`` is the public API, in the order the page lists them
MODULES = [
    "jsonvec",
    "jsonvec.sklearn",
    "jsonvec.inspect",
    "jsonvec.values",
    "jsonvec.dask",
]
HEADER = """# Python API

The public API of jsonvec: every name in these modules' `__all__`, with its signature and
the first line of its docstring (`help(name)` gives the rest, with examples). Generated from
the docstrings by `python -m tests.api.test_api_docs`; `make test` fails when this page and the
code differ. The README's "Python" section shows them at work, and `examples/` runs a whole
notebook-style session.
"""


def public(module_name: str) -> Iterator[tuple[str, Any]]:
    """``(name, object)`` of a module's public API, in ``__all__`` order."""
    module = importlib.import_module(module_name)
    for name in module.__all__:
        if name != "__version__":
            yield name, getattr(module, name)


def is_error(obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseException)


def members(cls: type) -> Iterator[tuple[str, Any]]:
    """The constructor, then the public methods and properties a class defines itself."""
    found = []
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, property | staticmethod | classmethod) or inspect.isfunction(value):
            found.append((name, value))
    yield from sorted(found, key=lambda item: item[0] != "__init__")


def first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def signature(obj: Callable[..., Any]) -> str:
    """``(name: type = default, ...) -> type``, with annotations as written in the source."""
    parts, star = [], False
    for p in inspect.signature(obj).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        star = star or p.kind is p.VAR_POSITIONAL
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            default = "<factory>" if "_HAS_DEFAULT_FACTORY" in repr(p.default) else repr(p.default)
            text += f" = {default}" if p.annotation is not p.empty else f"={default}"
        parts.append(text)
    returns = inspect.signature(obj).return_annotation
    arrow = "" if returns is inspect.Signature.empty else f" -> {_annotation(returns)}"
    return f"({', '.join(parts)}){arrow}"


def _annotation(value: Any) -> str:
    return value if isinstance(value, str) else getattr(value, "__name__", repr(value))


def render() -> str:
    lines = [HEADER]
    for module_name in MODULES:
        lines.append(f"## `{module_name}`\n")
        errors = []
        for name, obj in public(module_name):
            if is_error(obj):
                errors.append(f"`{name}`")
                continue
            lines.append(_entry(module_name, name, obj))
        if errors:
            lines.append(
                "Errors, all derived from `jsonvec.JsonvecError` "
                f"(`jsonvec.errors`): {', '.join(errors)}.\n"
            )
    return "\n".join(lines)


def _entry(module_name: str, name: str, obj: Any) -> str:
    if not inspect.isclass(obj):
        return f"### `{module_name}.{name}{signature(obj)}`\n\n{first_line(obj)}\n"
    out = [f"### class `{module_name}.{name}`\n", f"{first_line(obj)}\n"]
    for member, value in members(obj):
        if member == "__init__":
            out.append(
                f"- `{name}{signature(value).replace('(self, ', '(').replace('(self)', '()')}`"
            )
        elif isinstance(value, property):
            out.append(f"- `.{member}`: {first_line(value)}")
        else:
            function = value.__func__ if isinstance(value, staticmethod | classmethod) else value
            text = signature(function).replace("(self, ", "(").replace("(self)", "()")
            text = text.replace("(cls, ", "(").replace("(cls)", "()")
            out.append(f"- `.{member}{text}`: {first_line(value)}")
    return "\n".join(out) + "\n"


def test_docs_api_md_is_up_to_date() -> None:
    assert API_DOC.read_text() == render(), "run: python -m tests.api.test_api_docs"


def callables() -> Iterator[tuple[str, Any]]:
    for module_name in MODULES:
        for name, obj in public(module_name):
            if not is_error(obj):
                yield f"{module_name}.{name}", obj


@pytest.mark.parametrize(("name", "obj"), list(callables()), ids=[n for n, _ in callables()])
def test_public_names_are_typed_and_have_an_example(name: str, obj: Any) -> None:
    functions = [obj] if not inspect.isclass(obj) else [
        v.fget if isinstance(v, property) else getattr(v, "__func__", v)
        for _, v in members(obj)
    ]  # fmt: skip
    for function in functions:
        hints = inspect.signature(function)
        untyped = [p for p in hints.parameters.values() if p.annotation is inspect.Parameter.empty
                   and p.name not in ("self", "cls")]  # fmt: skip
        assert not untyped, f"{name}: {function.__name__} has untyped parameters {untyped}"
        if function.__name__ != "__init__":
            assert hints.return_annotation is not inspect.Signature.empty, function.__name__
    docs = [inspect.getdoc(obj) or ""] + [inspect.getdoc(f) or "" for f in functions]
    assert docs[0], f"{name} has no docstring"
    assert any(">>>" in doc for doc in docs), f"{name} has no example (doctest)"


def test_errors_are_all_listed() -> None:
    listed = {n for n, o in public("jsonvec") if is_error(o)}
    assert "JsonvecError" in listed
    assert len(listed) == 21


if __name__ == "__main__":
    API_DOC.write_text(render())
    sys.stdout.write(f"wrote {API_DOC}\n")
