#!/usr/bin/env bash
# The push-stream benchmark (benches/sse.rs), release build: SSE_STREAMS open streams
# (default 1000) on one instance, SSE_RATE visit changes per second (default 100) for
# SSE_SECONDS (default 30); checks every change reaches every stream, prints p50/p99 delivery
# latency and the server's RSS.
#   scripts/bench_sse.sh              SQLite
#   scripts/bench_sse.sh --postgres   PostgreSQL (a throwaway server, see scripts/postgres.sh)
#   SSE_STREAMS=50 SSE_RATE=20 SSE_SECONDS=3 scripts/bench_sse.sh    a quick run for CI
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if [ "${1:-}" = "--postgres" ]; then
  source scripts/postgres.sh
  pg_start
  trap pg_stop EXIT
  export TEST_DATABASE=postgres
fi
# Two sockets per stream (ours and the server's), plus the database's.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
release_cargo bench --profile release --features ssr --bench sse
