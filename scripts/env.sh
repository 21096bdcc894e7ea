# Sourced by the other scripts: puts the project's tools on PATH and defines `leptos`, which runs
# cargo-leptos. When the default Rust toolchain has no wasm32 standard library (as on these
# machines), `leptos` builds with Debian's Rust and -Zbuild-std for the wasm half (see
# ../shared/TOOLCHAIN.md); everything else (fmt, clippy, tests) keeps the default toolchain.
# shellcheck shell=bash
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$PROJECT_ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
leptos_on_debweb() {
  [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]
}
leptos() {
  local sub=$1; shift
  if ! leptos_on_debweb; then
    cargo leptos "$sub" "$@" || return
  else
    RUSTUP_TOOLCHAIN=debweb RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
      cargo leptos "$sub" --lib-cargo-args=-Zbuild-std=std,panic_abort "$@" || return
  fi
  # cargo-leptos' own gzip is a fast one (its .gz of the wasm is a sixth larger than gzip -9's):
  # browsers that take no brotli get the -9 copy instead.
  if [ "$sub" = build ]; then
    case " $* " in *" --precompress "* | *" -P "*)
      local f
      for f in "$PROJECT_ROOT"/target/site/pkg/*.gz; do
        if [ -f "${f%.gz}" ]; then gzip -9 -n -c "${f%.gz}" >"$f.tmp" && mv "$f.tmp" "$f" || return; fi
      done ;;
    esac
  fi
  return 0
}

# cargo with the compiler `leptos` builds the server with, for release builds beside it (the
# benchmarks): with another compiler every release dependency would be compiled a second time
# (about ten minutes on a fresh machine).
release_cargo() {
  if leptos_on_debweb; then
    LEPTOS_OUTPUT_NAME=telehealth RUSTUP_TOOLCHAIN=debweb RUSTC_BOOTSTRAP=1 cargo "$@"
  else
    LEPTOS_OUTPUT_NAME=telehealth cargo "$@"
  fi
}
