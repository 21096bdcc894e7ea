#!/usr/bin/env bash
# Builds the full app (server + hydrated wasm) and runs the Playwright suite against it,
# served on a free loopback port with a fresh SQLite database in demo mode, with the Zoom
# simulator on another free port standing in for Zoom.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
profile=${E2E_PROFILE:-debug}
if [ "$profile" = release ]; then leptos build --release; else leptos build; fi

work=$(mktemp -d /tmp/telehealth-e2e.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
sim_port=$(free_port)
"target/$profile/telehealth" zoom-sim --addr "127.0.0.1:$sim_port" >"$work/zoom-sim.log" 2>&1 &
sim=$!
DEMO_MODE=true DATABASE_URL="sqlite:$work/e2e.db?mode=rwc" APP_CONFIG_FILE=/dev/null \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site PUBLIC_URL="http://127.0.0.1:$port" \
  ZOOM_OAUTH_BASE_URL="http://127.0.0.1:$sim_port" ZOOM_API_BASE_URL="http://127.0.0.1:$sim_port/v2" \
  "target/$profile/telehealth" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" "$sim" 2>/dev/null || true
  wait "$server" "$sim" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
status=0
(cd end2end && BASE_URL="http://127.0.0.1:$port" SIM_URL="http://127.0.0.1:$sim_port" npx playwright test) || status=$?
if [ $status -ne 0 ]; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
  echo "--- zoom-sim log ---"; tail -n 20 "$work/zoom-sim.log"
fi
exit $status
