#!/usr/bin/env bash
# Installs whatever this project needs that the machine lacks, and nothing it already has.
# Safe to run any number of times. Works offline from everything but the package registries
# (Debian apt, crates.io, npm): see ../shared/TOOLCHAIN.md for why each piece is chosen.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: Rust 1.96 with std sources (builds wasm32 with -Zbuild-std), its wasm
# linker, Chromium for the browser tests, PostgreSQL for the second database backend, and
# aiosmtpd for the mail sink the tests and the demo send mail to (scripts/smtp_sink.py), and
# brotli for recompressing the renamed split bundle (scripts/rename_split_bundle.py).
missing=()
for pkg in rustc-web cargo-web rust-web-src lld-22 chromium postgresql python3-aiosmtpd brotli; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! rustup toolchain list | grep -q '^debweb'; then
  log "linking Debian's rustc as the rustup toolchain 'debweb'"
  rustup toolchain link debweb /usr
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

# cargo-leptos without its GitHub downloads: it finds wasm-bindgen and wasm-opt on PATH.
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.11'; then
  log "building cargo-leptos 0.3.11 (about 20 minutes on 2 cores)"
  cargo +debweb install cargo-leptos --version =0.3.11 --locked --features no_downloads
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
wbg=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  log "building wasm-bindgen-cli $wbg"
  cargo install wasm-bindgen-cli --version "=$wbg"
fi

# npm: Playwright and binaryen's wasm-opt (Debian's wasm-opt 108 silently breaks the wasm).
if [ ! -x end2end/node_modules/.bin/playwright ] || [ ! -x end2end/node_modules/.bin/wasm-opt ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "installing npm packages for end2end/"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi
log "tools ready"
