#!/usr/bin/env bash
# Builds the full app (server + hydrated wasm) and runs the Playwright suite against it,
# served on a free loopback port with a fresh SQLite database in demo mode, with the Zoom
# simulator on another free port standing in for Zoom.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
profile=${E2E_PROFILE:-debug}
if [ "$profile" = release ]; then leptos build --release --precompress; else leptos build; fi

work=$(mktemp -d /tmp/telehealth-e2e.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
sim_port=$(free_port)
# Zoom's webhooks go to the first app, signed with the demo's secret token (server/demo.rs).
"target/$profile/telehealth" zoom-sim --addr "127.0.0.1:$sim_port" \
  --webhook-url "http://127.0.0.1:$port/webhooks/zoom" --webhook-secret demo-webhook-secret-token \
  >"$work/zoom-sim.log" 2>&1 &
sim=$!
# The mail sink (scripts/smtp_sink.py): the app's mails land in $work/mail, where specs read them.
/usr/bin/python3 scripts/smtp_sink.py --dir "$work/mail" >"$work/smtp-sink.log" 2>&1 &
sink=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/smtp-sink.log" && break; sleep 0.1; done
smtp_port=$(sed -n 's/^listening on //p' "$work/smtp-sink.log")
SMTP_URL="smtp://127.0.0.1:$smtp_port" MAIL_RETRY_MAX_SECS=1 \
DEMO_MODE=true DATABASE_URL="sqlite:$work/e2e.db?mode=rwc" APP_CONFIG_FILE=/dev/null \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site PUBLIC_URL="http://127.0.0.1:$port" \
  ZOOM_OAUTH_BASE_URL="http://127.0.0.1:$sim_port" ZOOM_API_BASE_URL="http://127.0.0.1:$sim_port/v2" \
  "target/$profile/telehealth" >"$work/server.log" 2>&1 &
server=$!
# A second app with a 20-second idle timeout, for the automatic-logoff spec (live.spec.ts).
idle_port=$(free_port)
DEMO_MODE=true DATABASE_URL="sqlite:$work/e2e-idle.db?mode=rwc" APP_CONFIG_FILE=/dev/null SESSION_IDLE_TIMEOUT_SECS=20 \
  LEPTOS_SITE_ADDR="127.0.0.1:$idle_port" LEPTOS_SITE_ROOT=target/site PUBLIC_URL="http://127.0.0.1:$idle_port" \
  ZOOM_OAUTH_BASE_URL="http://127.0.0.1:$sim_port" ZOOM_API_BASE_URL="http://127.0.0.1:$sim_port/v2" \
  "target/$profile/telehealth" >"$work/server-idle.log" 2>&1 &
idle_server=$!
cleanup() {
  kill "$server" "$idle_server" "$sim" "$sink" 2>/dev/null || true
  wait "$server" "$idle_server" "$sim" "$sink" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
status=0
(cd end2end && BASE_URL="http://127.0.0.1:$port" SIM_URL="http://127.0.0.1:$sim_port" MAIL_DIR="$work/mail" IDLE_URL="http://127.0.0.1:$idle_port" npx playwright test "$@") || status=$?
if [ $status -ne 0 ]; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
  echo "--- zoom-sim log ---"; tail -n 20 "$work/zoom-sim.log"
fi
exit $status
