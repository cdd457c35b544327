#!/usr/bin/env bash
# Tests of the bindings: builds gridline-ffi (dev profile), generates Kotlin/Swift/Python, then runs
#  - pytest over the generated Python (a field day through the bindings), in a venv under target/;
#  - the Maven JUnit tests (android-shell/jvm-tests): generated Kotlin + the Android shell's pure-Kotlin layer
#    on a desktop JVM against the host-built library.
# Installs what it needs idempotently. Exits non-zero on any failure; prints each runner's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir="${CARGO_TARGET_DIR:-$root/target}"

echo "== bindings: build gridline-ffi and generate Kotlin, Swift, Python =="
lib=$(bindings/generate.sh | tail -n 1)
lib_dir=$(cd "$(dirname "$lib")" && pwd)
# The server field day (test_sync_server.py) runs against a real gridline-server on loopback: always built here.
if [[ -z "${GRIDLINE_SERVER_BIN:-}" ]]; then
  cargo build -q -p gridline-server
  export GRIDLINE_SERVER_BIN="$target_dir/debug/gridline-server"
fi

echo "== bindings: pytest =="
venv="$target_dir/py-venv"
if [[ ! -x "$venv/bin/pytest" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check pytest
fi
"$venv/bin/pytest" -q -p no:cacheprovider bindings/python/tests

echo "== bindings: Kotlin on the JVM (mvn test) =="
log="$target_dir/jvm-tests.log"
rc=0
(cd android-shell && mvn -B test -Dgridline.lib.dir="$lib_dir") >"$log" 2>&1 || rc=$?
grep -E "Tests run:.*Fail|BUILD|ERROR\]" "$log" | grep -v "^\[INFO\] *$" | tail -n 15 || true
if [[ $rc -ne 0 ]]; then
  echo "mvn test failed (exit $rc); full log: $log"
  exit "$rc"
fi
