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
  local profile=debug
  case " $* " in *" --release "* | *" -r "*) profile=release ;; esac
  # --split: the pages app.rs declares with `lazy_page!` become wasm chunks of their own; the
  # app hydrates asynchronously (src/lib.rs) for them, so every build (debug too) must split.
  if ! leptos_on_debweb; then
    cargo leptos "$sub" --split "$@" || return
  else
    # A release wasm built with std from source can drop the panic machinery: a panic in the
    # browser stops the app either way (panic = "abort"), now without formatting a message
    # nobody sees; the wasm is 6% smaller. Its std also takes the smaller of the algorithms std
    # offers (sorting, mostly): 1% less. Debug builds keep their messages.
    local wasm_flags= std_args=()
    if [ "$profile" = release ]; then
      wasm_flags="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
      std_args=(--lib-cargo-args=-Zbuild-std-features=optimize_for_size)
    fi
    RUSTUP_TOOLCHAIN=debweb RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$wasm_flags" \
      cargo leptos "$sub" --split --lib-cargo-args=-Zbuild-std=std,panic_abort "${std_args[@]}" "$@" || return
  fi
  [ "$sub" = build ] || return 0
  # Names that change whenever any file of the split bundle changes (see the script): the
  # files are served as immutable.
  python3 "$PROJECT_ROOT/scripts/rename_split_bundle.py" "$PROJECT_ROOT/target/site/pkg" \
    "$PROJECT_ROOT/target/$profile/hash.txt" || return
  # cargo-leptos' own gzip is a fast one (its .gz of the wasm is a sixth larger than gzip -9's):
  # browsers that take no brotli get the -9 copy instead.
  case " $* " in *" --precompress "* | *" -P "*)
    local f
    for f in "$PROJECT_ROOT"/target/site/pkg/*.gz; do
      # A name of this shell's own: another build's rewrite may run beside this one.
      if [ -f "${f%.gz}" ]; then gzip -9 -n -c "${f%.gz}" >"$f.$$.tmp" && mv "$f.$$.tmp" "$f" || return; fi
    done ;;
  esac
  return 0
}

# cargo with the compiler, flags and environment `leptos build --release` builds the server
# with, for release builds beside it (the benchmarks): with any of them different every release
# dependency would be compiled a second time (about ten minutes on a fresh machine), and the
# bench would measure a server other than the one that ships. cargo-leptos sets
# `--cfg erase_components` (Cargo.toml: `always-erase-components`) and LEPTOS_OUTPUT_NAME.
release_cargo() {
  if leptos_on_debweb; then
    RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=telehealth \
      RUSTUP_TOOLCHAIN=debweb RUSTC_BOOTSTRAP=1 cargo "$@"
  else
    RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=telehealth cargo "$@"
  fi
}
