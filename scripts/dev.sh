#!/usr/bin/env bash
# Builds and serves the app at http://127.0.0.1:3000 with its embedded defaults: a SQLite file
# under data/, demo accounts (printed in the log), demo mode announced, and the Zoom simulator
# on 127.0.0.1:3002 standing in for Zoom (so every Zoom flow works without a Zoom account).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

sim_addr=${ZOOM_SIM_ADDR:-127.0.0.1:3002}
if [ -z "${ZOOM_API_BASE_URL:-}" ]; then
  # The simulator is a subcommand of the server binary, started once the build is done.
  leptos build
  target/debug/telehealth zoom-sim --addr "$sim_addr" &
  sim_pid=$!
  trap 'kill $sim_pid 2>/dev/null || true' EXIT
  export ZOOM_OAUTH_BASE_URL="http://$sim_addr"
  export ZOOM_API_BASE_URL="http://$sim_addr/v2"
  echo "Zoom simulator at http://$sim_addr (consent page, meetings, start/join pages)"
fi
export DEMO_MODE=${DEMO_MODE:-true}
export DATABASE_URL=${DATABASE_URL:-sqlite:data/telehealth.db?mode=rwc}
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:3000}
leptos serve "$@"
