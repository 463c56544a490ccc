#!/bin/sh
# Core and reference give the same bits on every Python from 3.11 installed here, and every
# Python gives the same bits: tests/parity.py in the project's environment ($1) and in one
# small environment per other Python under `pyenv root`/versions (numpy, orjson and the core
# built in place; kept in .venv-parity/ between runs). Says which Pythons it used and skipped.
set -eu
main="$1"
root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
status=0
expected="$("$main" tests/parity.py)" || status=$?
if [ "$status" -eq 3 ] && [ -z "${JSONVEC_REQUIRE_CORE:-}" ]; then
    echo "parity: skipped (no compiled core here: the reference encodes alone)"
    exit 0
fi
[ "$status" -eq 0 ] || exit "$status"
main_version="$("$main" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
used="$main_version"
skipped=""
digest() { printf '%s' "$1" | sed 's/.*"digests"://'; }
for minor in 11 12 13 14; do
    version="3.$minor"
    [ "$version" = "$main_version" ] && continue
    python=""
    for candidate in "$root"/versions/"$version"*/bin/python3; do
        [ -x "$candidate" ] && python="$candidate"
    done
    if [ -z "$python" ]; then
        skipped="$skipped $version"
        continue
    fi
    env=".venv-parity/$version"
    if [ ! -f "$env/.ready" ]; then
        "$python" -m venv "$env"
        "$env/bin/python" -m pip install --quiet --disable-pip-version-check \
            numpy orjson cython setuptools >"$env/pip.log" 2>&1 || {
            cat "$env/pip.log" >&2
            exit 1
        }
        touch "$env/.ready"
    fi
    # the core for this Python, built in place beside the others (their names differ by ABI)
    if ! JSONVEC_REQUIRE_CORE=1 "$env/bin/python" setup.py --quiet build_ext --inplace \
        >"$env/build.log" 2>&1; then
        cat "$env/build.log" >&2
        exit 1
    fi
    got="$("$env/bin/python" tests/parity.py)"
    if [ "$(digest "$got")" != "$(digest "$expected")" ]; then
        echo "parity: Python $version gives other vectors than Python $main_version:" >&2
        echo "  $expected" >&2
        echo "  $got" >&2
        exit 1
    fi
    used="$used $version"
done
echo "parity: core = reference, the same bits on Python $used${skipped:+; not installed:$skipped}"
