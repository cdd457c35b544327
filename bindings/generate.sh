#!/usr/bin/env bash
# Builds the gridline-ffi library for this host and generates Kotlin, Swift and Python bindings from it
# (uniffi `--library` mode: the library's own metadata is the interface, nothing is written twice).
# Usage: bindings/generate.sh [--release]      Output: bindings/generated/{kotlin,swift,python}/ and the
# path of the built library on the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
cargo_flags=()
if [[ "${1:-}" == "--release" ]]; then profile=release; cargo_flags=(--release); fi

cargo build -q -p gridline-ffi -p uniffi-bindgen "${cargo_flags[@]}"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$(uname -s)" in
  Darwin) lib="$target_dir/$profile/libgridline_ffi.dylib" ;;
  *) lib="$target_dir/$profile/libgridline_ffi.so" ;;
esac
bindgen="$target_dir/$profile/uniffi-bindgen"
out=bindings/generated
rm -rf "$out"
"$bindgen" generate --library "$lib" --language kotlin --out-dir "$out/kotlin" --no-format >&2
bindings/swift.sh "$bindgen" "$lib" "$out/swift"
# Python: the two namespaces import each other relatively, so they form one package, `gridline`, which
# loads the library from its own directory (a link to the build, not a 100 MB copy).
"$bindgen" generate --library "$lib" --language python --out-dir "$out/python/gridline" --no-format >&2
echo '"""Generated Gridline bindings: gridline_core (data types) and gridline_ffi (GridlineStore …)."""' \
  >"$out/python/gridline/__init__.py"
ln -sf "$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")" "$out/python/gridline/"
echo "$lib"
