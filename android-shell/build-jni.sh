#!/usr/bin/env bash
# Cross-builds libgridline_ffi.so for the Android ABIs into app/src/main/jniLibs with cargo-ndk.
# Needs: rustup targets aarch64-linux-android armv7-linux-androideabi x86_64-linux-android, `cargo install
# cargo-ndk`, and ANDROID_NDK_HOME (Android Studio → SDK Manager → NDK). Usage: ./build-jni.sh [--debug]
set -euo pipefail
cd "$(dirname "$0")"
profile=(--release)
[[ "${1:-}" == "--debug" ]] && profile=()
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android >/dev/null
# SQLCipher's vendored OpenSSL builds per ABI; API 26 matches minSdk.
cargo ndk --manifest-path ../bindings/gridline-ffi/Cargo.toml \
  -t arm64-v8a -t armeabi-v7a -t x86_64 --platform 26 \
  -o app/src/main/jniLibs build "${profile[@]}" -p gridline-ffi
echo "jniLibs:"; find app/src/main/jniLibs -name '*.so' -exec ls -l {} \;
