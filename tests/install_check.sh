#!/bin/sh
# Installs as users do, in fresh virtual environments under build/install-check:
# 1. `python -m build` gives a binary wheel, which installs and runs where no compiler is
#    (CC=/bin/false) and uses the compiled encoder;
# 2. a source install where no compiler works goes on without the core and uses the
#    pure-Python encoder, and says so.
# Every step has a time limit, so nothing here can hang CI.
set -eu
python=${1:-python3}
case "$python" in */*) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")";; esac
work=$(pwd)/build/install-check
rm -rf "$work"
mkdir -p "$work/src"
# the sources as a fresh clone has them: no core built in place by an editable install
git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t "$work/src"

(cd "$work/src" && timeout 900 "$python" -m build --wheel --outdir "$work/dist" .) \
    >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
timeout 300 "$python" -m venv "$work/wheel"
CC=/bin/false timeout 900 "$work/wheel/bin/python" -m pip install --quiet "$work"/dist/*.whl
version=$(timeout 60 "$work/wheel/bin/jsonvec" --version)
echo "wheel: $version"
case "$version" in *"(compiled encoder)"*) ;; *) echo "the wheel has no compiled core"; exit 1;; esac
timeout 60 "$work/wheel/bin/python" -P -c "
import jsonvec.records.documents as d
assert d.advance is not d.advance_python, 'the wheel has no compiled document scan'
"
echo '{"a": [1, "x"]}' | timeout 60 "$work/wheel/bin/jsonvec" encode -o "$work/a.npy" -q

rm -rf "$work/src/build" "$work"/src/jsonvec/*/_*.c  # what the wheel's build left there
timeout 300 "$python" -m venv "$work/plain"
env -u JSONVEC_REQUIRE_CORE CC=/bin/false CXX=/bin/false timeout 900 \
    "$work/plain/bin/python" -m pip install --quiet \
    "$work/src" >"$work/plain.log" 2>&1 || { cat "$work/plain.log"; exit 1; }
version=$(timeout 60 "$work/plain/bin/jsonvec" --version)
echo "no compiler: $version"
case "$version" in *"pure-Python encoder"*) ;; *) echo "expected the pure-Python encoder"; exit 1;; esac
echo '{"a": [1, "x"]}' | timeout 60 "$work/plain/bin/jsonvec" encode -o "$work/b.npy" -q
# a JSON document, cut by the pure-Python scan: the same record, the same vector
printf '[\n  {"a": [1,\n    "x"]}\n]\n' > "$work/d.json"
timeout 60 "$work/plain/bin/jsonvec" encode "$work/d.json" -o "$work/c.npy" -q
timeout 60 "$work/plain/bin/python" -P -c "
import numpy as np
import jsonvec.records.documents as d
assert d.advance is d.advance_python, 'no compiler, yet a compiled scan'
a, b, c = (np.load(f'$work/{n}.npy') for n in 'abc')
assert a.tobytes() == b.tobytes() == c.tobytes(), 'the two encoders differ'
print('same vectors from both installs')
"
rm -rf "$work"
