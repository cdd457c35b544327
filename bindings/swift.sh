#!/usr/bin/env bash
# Generates the Swift bindings of both uniffi namespaces from a built gridline-ffi library, one file each:
# gridline_core.swift (the core's data types) and gridline_ffi.swift (GridlineStore, the error). Both
# namespaces share the Swift module `Gridline` (see the uniffi.toml files), and uniffi names a Swift file
# after its module, so each namespace is generated on its own and its file renamed after its crate;
# otherwise the second would overwrite the first. C headers and module maps go beside them.
# Usage: bindings/swift.sh BINDGEN LIBRARY OUT_DIR
set -euo pipefail
bindgen=$1 lib=$2 out=$3
mkdir -p "$out"
for crate in gridline_core gridline_ffi; do
  work="$out/.$crate"
  rm -rf "$work"
  "$bindgen" generate --library "$lib" --crate "$crate" --language swift --out-dir "$work" --no-format >&2
  mv "$work"/*.swift "$out/$crate.swift"
  mv "$work"/*.h "$work"/*.modulemap "$out/"
  rm -rf "$work"
done
