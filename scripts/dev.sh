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
  # Zoom's webhooks go to the app, signed with the demo's secret token (see server/demo.rs).
  target/debug/telehealth zoom-sim --addr "$sim_addr" \
    --webhook-url "${PUBLIC_URL:-http://127.0.0.1:3000}/webhooks/zoom" \
    --webhook-secret demo-webhook-secret-token &
  sim_pid=$!
  trap 'kill $sim_pid 2>/dev/null || true' EXIT
  export ZOOM_OAUTH_BASE_URL="http://$sim_addr"
  export ZOOM_API_BASE_URL="http://$sim_addr/v2"
  echo "Zoom simulator at http://$sim_addr (consent page, meetings, start/join pages, webhooks)"
fi
if [ -z "${SMTP_URL:-}" ]; then
  # The demo's mail goes to a local SMTP sink (Debian's aiosmtpd) that keeps every message in
  # data/mail/; the admin's Outbox page shows them too.
  sink_port=${SMTP_SINK_PORT:-2525}
  /usr/bin/python3 scripts/smtp_sink.py --dir data/mail --port "$sink_port" &
  sink_pid=$!
  trap 'kill ${sim_pid:-} $sink_pid 2>/dev/null || true' EXIT
  export SMTP_URL="smtp://127.0.0.1:$sink_port"
  echo "Mail sink at smtp://127.0.0.1:$sink_port, messages in data/mail/"
fi
export DEMO_MODE=${DEMO_MODE:-true}
# The demo opens on a living clinic: the doctor connected to the simulator, a day of visits.
export DEMO_LIVING_CLINIC=${DEMO_LIVING_CLINIC:-true}
export DATABASE_URL=${DATABASE_URL:-sqlite:data/telehealth.db?mode=rwc}
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:3000}
leptos serve "$@"
