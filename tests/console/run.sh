#!/usr/bin/env bash
# The console's browser suite: installs its npm packages when missing or stale (npm ci from the committed
# lock file; playwright-core downloads no browser), then runs every tests/console/*.test.mjs with node's test
# runner against the built binaries: GRIDLINE_BIN_DIR (default: $CARGO_TARGET_DIR/debug, else target/debug)
# must hold gridline-server and gridline. Screenshots: $CARGO_TARGET_DIR/console-screenshots (or
# GRIDLINE_SCREENSHOT_DIR); the servers' output: $CARGO_TARGET_DIR/console-logs.
# Usage: tests/console/run.sh [test files…]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# Paths given relative to the caller's directory are made absolute before moving here.
files=()
for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  mkdir -p "$CARGO_TARGET_DIR"
  CARGO_TARGET_DIR="$(cd "$CARGO_TARGET_DIR" && pwd)"
  export CARGO_TARGET_DIR
fi
bin_dir="${GRIDLINE_BIN_DIR:-${CARGO_TARGET_DIR:-$here/../../target}/debug}"
for b in gridline-server gridline; do
  if [[ ! -x "$bin_dir/$b" ]]; then
    echo "$bin_dir/$b is missing: cargo build -p gridline-server -p gridline (or set GRIDLINE_BIN_DIR)"
    exit 1
  fi
done
GRIDLINE_BIN_DIR="$(cd "$bin_dir" && pwd)"
export GRIDLINE_BIN_DIR
cd "$here"

# node_modules is stale when package-lock.json changed since the last install: each install keeps a copy
# of the lock it installed, and a different lock installs again.
stamp=node_modules/.installed-lock
if [[ ! -d node_modules || ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "== console tests: npm ci =="
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

((${#files[@]})) || files=("$here"/*.test.mjs)
# One file at a time: each starts its own server and browser, and the live-update timings mean more on a
# machine that is not also running the other files.
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
