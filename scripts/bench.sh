#!/usr/bin/env bash
# The speed benchmark (benches/http.rs): the app's hot paths as a share of a bare axum
# handler, in one alternating run of 3 rounds, with the release build, the Zoom simulator and
# wrk. Then the browser bundle's sizes (gzip -9 of the built files, and the precompressed
# files the server sends).
#   scripts/bench.sh              SQLite
#   scripts/bench.sh --postgres   PostgreSQL (a throwaway server, see scripts/postgres.sh)
# BENCH_SECONDS (default 10) is each measurement's length; BENCH_SITE=0 skips the release
# site build (and the bundle sizes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk >/dev/null; else
    echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; fi
fi
if [ "${1:-}" = "--postgres" ]; then
  source scripts/postgres.sh
  pg_start
  trap pg_stop EXIT
  export TEST_DATABASE=postgres
fi

if [ "${BENCH_SITE:-1}" != 0 ]; then
  # The site as it ships: release wasm, hashed names, brotli and gzip beside each file.
  # target/site is shared with the browser tests: build it under their lock.
  flock /tmp/e2e.lock bash -c 'source scripts/env.sh && leptos build --release --precompress'
fi
# The release profile (not cargo's `bench` profile) so the app and the simulator are the
# binaries `leptos build --release` just made, not a second compile of the whole crate.
release_cargo bench --profile release --features ssr --bench http

if [ "${BENCH_SITE:-1}" != 0 ]; then
  echo
  echo "browser bundle (target/site/pkg): raw, gzip -9, brotli as served"
  row() { printf '%-60s %9d raw %9d gzip -9 %9d br\n' "$@"; }
  sizes() { echo "$(stat -c %s "$1") $(gzip -9 -c "$1" | wc -c) $(stat -c %s "$1.br" 2>/dev/null || echo 0)"; }
  # What every page loads, then each page split off it (app.rs, `lazy_page!`), then the small
  # chunks of code those pages share, summed.
  for f in target/site/pkg/telehealth.*.wasm target/site/pkg/telehealth.*.js \
    target/site/pkg/__wasm_split.*.js target/site/pkg/*.css target/site/pkg/split_*.wasm; do
    [ -f "$f" ] || continue
    # shellcheck disable=SC2046
    row "$(basename "$f")" $(sizes "$f")
  done
  n=0 raw=0 gz=0 br=0
  for f in target/site/pkg/chunk_*.wasm; do
    [ -f "$f" ] || continue
    read -r r g b <<<"$(sizes "$f")"
    n=$((n + 1)) raw=$((raw + r)) gz=$((gz + g)) br=$((br + b))
  done
  row "shared chunks of the split pages ($n files)" "$raw" "$gz" "$br"
fi
