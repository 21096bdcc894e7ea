#!/usr/bin/env bash
# Every check, in the order a failure is cheapest to find: formatting, lints for both builds,
# unit and integration tests on SQLite, the same integration tests on PostgreSQL, then the
# browser suite in Chromium against a freshly built app. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
source scripts/postgres.sh

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
started=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

# The layers only point down: pages -> api -> server -> types/domain. The server never reaches
# up into the controllers, and the shared types never into either.
step "layering"
if grep -rnE 'crate::(api|pages)\b' src/server src/zoom_sim; then
  echo "src/server must not import from src/api or src/pages (move shared types to src/types)" >&2
  exit 1
fi
if grep -rnE 'crate::(api|pages|server)\b' src/domain src/types; then
  echo "src/domain and src/types are shared by browser and server: no imports from above" >&2
  exit 1
fi

# The build's own step that renames the split bundle (scripts/env.sh, `leptos build`).
step "bundle renaming (Python unit tests)"
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest scripts/test_rename_split_bundle.py

# clippy runs on the host target for both feature sets (Debian's Rust has no clippy); the
# hydrate build's code is the same, only the target differs.
step "clippy (ssr, all targets)"
cargo clippy --all-targets --features ssr -- -D warnings
step "clippy (hydrate)"
cargo clippy --lib --features hydrate -- -D warnings

# The campaigns' sizes (README: "Campaigns"): the model-based test runs its full 2,000 steps
# on SQLite; the crash campaign and the fuzz run a CI size; PostgreSQL runs smaller sizes of
# the same campaigns.
export CRASH_VISITS=${CRASH_VISITS:-60} CRASH_KILLS=${CRASH_KILLS:-10}

step "unit and integration tests on SQLite"
MODEL_STEPS=${MODEL_STEPS:-2000} cargo test --features ssr

step "integration tests on PostgreSQL"
trap pg_stop EXIT
pg_start
TEST_DATABASE=postgres MODEL_STEPS=${PG_MODEL_STEPS:-500} cargo test --features ssr --test integration
pg_stop
trap - EXIT

# Against the release build: the bundle's budgets (end2end/tests/budget.spec.ts: bytes of the
# first load, time to interactive on a throttled phone) only mean something for what ships.
step "browser tests (Playwright, Chromium, release build)"
E2E_PROFILE=release scripts/e2e.sh

# The benchmarks at a CI size (README: "Speed"): they fail on any failed request or lost event;
# their figures are for reading, not for passing.
step "speed benchmarks (CI size)"
BENCH_SECONDS=${BENCH_SECONDS:-1} scripts/bench.sh
SSE_STREAMS=${SSE_STREAMS:-50} SSE_RATE=${SSE_RATE:-20} SSE_SECONDS=${SSE_SECONDS:-3} scripts/bench_sse.sh

step "all checks passed in $((SECONDS - started)) s"
