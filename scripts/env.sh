# Sourced by the other scripts: puts the project's tools on PATH and defines `leptos`, which runs
# cargo-leptos. When the default Rust toolchain has no wasm32 standard library (as on these
# machines), `leptos` builds with Debian's Rust and -Zbuild-std for the wasm half (see
# ../shared/TOOLCHAIN.md); everything else (fmt, clippy, tests) keeps the default toolchain.
# shellcheck shell=bash
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$PROJECT_ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
leptos() {
  local sub=$1; shift
  if [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
    cargo leptos "$sub" "$@"
  else
    RUSTUP_TOOLCHAIN=debweb RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
      cargo leptos "$sub" --lib-cargo-args=-Zbuild-std=std,panic_abort "$@"
  fi
}
