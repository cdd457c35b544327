#!/usr/bin/env bash
# Tests of the bindings: builds gridline-ffi (dev profile), generates Kotlin/Swift/Python, then runs
#  - pytest over the generated Python (a field day through the bindings), in a venv under target/;
#  - one Maven reactor in android-shell/ (pom.xml): the JUnit tests of the presenters (jvm-tests), then the
#    desktop harness (desktop-harness): a field day through a real server rendered screen by screen to
#    target/app-screenshots/*.png (zh-Hans and English, two phone sizes, font scale 1.0 and 1.3; Noto CJK from
#    fonts-noto-cjk, which tests/run installs), and the Compose UI tests of the shared screens. Rendering is
#    Skia's CPU raster in the JVM: no display, no Xvfb.
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

echo "== bindings: Kotlin on the JVM, app screens and UI tests (mvn test) =="
log="$target_dir/jvm-tests.log"
rc=0
start=$SECONDS
# `clean`: the generated bindings live outside the Maven modules, and the Kotlin compiler's incremental cache
# does not see them change (a record gaining a field left classes that no longer matched the library).
(cd android-shell && mvn -B clean test -Dgridline.lib.dir="$lib_dir") >"$log" 2>&1 || rc=$?
grep -E "Tests run:.*Fail|BUILD|ERROR\]|^screenshots:" "$log" | grep -v "^\[INFO\] *$" | tail -n 20 || true
echo "mvn test took $((SECONDS - start)) s; screenshots in target/app-screenshots/"
if [[ $rc -ne 0 ]]; then
  echo "mvn test failed (exit $rc); full log: $log"
  exit "$rc"
fi
