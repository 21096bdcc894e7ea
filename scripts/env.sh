# Sourced by the other scripts: puts the project's tools on PATH and, when the default Rust
# toolchain has no wasm32 standard library (as on these machines), switches the build to
# Debian's Rust with -Zbuild-std for the wasm half (see ../shared/TOOLCHAIN.md).
# shellcheck shell=bash
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$PROJECT_ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
LEPTOS_EXTRA_ARGS=()
if [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
  export RUSTUP_TOOLCHAIN=debweb
  export RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
  LEPTOS_EXTRA_ARGS=(--lib-cargo-args=-Zbuild-std=std,panic_abort)
fi
# cargo-leptos warns about LEPTOS_* variables it does not know; keep only what it uses.
leptos() {
  local sub=$1; shift
  cargo leptos "$sub" "${LEPTOS_EXTRA_ARGS[@]}" "$@"
}
