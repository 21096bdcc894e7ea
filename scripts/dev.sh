#!/usr/bin/env bash
# Builds and serves the app at http://127.0.0.1:3000 with its embedded defaults: a SQLite file
# under data/, demo accounts (printed in the log) and demo mode announced.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
export DEMO_MODE=${DEMO_MODE:-true}
export DATABASE_URL=${DATABASE_URL:-sqlite:data/telehealth.db?mode=rwc}
leptos serve "$@"
