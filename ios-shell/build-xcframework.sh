#!/usr/bin/env bash
# Builds GridlineFFI.xcframework (device arm64 + simulator arm64/x86_64) from gridline-ffi's staticlib and
# generates the Swift bindings into GridlineKit/Sources/Gridline. Run on a Mac with Xcode and rustup.
# Usage: ./build-xcframework.sh [--debug]
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
profile=release; flags=(--release)
[[ "${1:-}" == "--debug" ]] && { profile=debug; flags=(); }
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}" >/dev/null
for t in "${targets[@]}"; do
  # IPHONEOS_DEPLOYMENT_TARGET matches the app's minimum (iOS 16).
  IPHONEOS_DEPLOYMENT_TARGET=16.0 cargo build --manifest-path "$root/Cargo.toml" -p gridline-ffi --target "$t" "${flags[@]}"
done
tdir="$root/target"
build=build; rm -rf "$build" GridlineFFI.xcframework; mkdir -p "$build/headers" "$build/sim"

# Swift sources and C headers from the library's own metadata (same as bindings/generate.sh).
cargo build --manifest-path "$root/Cargo.toml" -p uniffi-bindgen
"$root/bindings/swift.sh" "$tdir/debug/uniffi-bindgen" "$tdir/aarch64-apple-ios/$profile/libgridline_ffi.a" "$build/swift"
cp "$build"/swift/*.swift GridlineKit/Sources/Gridline/
cp "$build"/swift/*.h "$build/headers/"
# One module map naming every namespace's FFI module (gridline_coreFFI, gridline_ffiFFI).
cat "$build"/swift/*.modulemap > "$build/headers/module.modulemap"

# The simulator slice holds both simulator architectures in one fat library.
lipo -create "$tdir/aarch64-apple-ios-sim/$profile/libgridline_ffi.a" "$tdir/x86_64-apple-ios/$profile/libgridline_ffi.a" \
  -output "$build/sim/libgridline_ffi.a"
xcodebuild -create-xcframework \
  -library "$tdir/aarch64-apple-ios/$profile/libgridline_ffi.a" -headers "$build/headers" \
  -library "$build/sim/libgridline_ffi.a" -headers "$build/headers" \
  -output GridlineFFI.xcframework
echo "built $(pwd)/GridlineFFI.xcframework and GridlineKit/Sources/Gridline/*.swift"
