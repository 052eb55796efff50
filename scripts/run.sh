#!/usr/bin/env bash
# scripts/run.sh BUILD: starts onair-signal in demo mode with in-process state and one SFU that
# signal spawns and supervises, serving the pages on http://localhost:${PORT:-3000}.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build/release}
export PORT=${PORT:-3000}
export ONAIR_ENV=${ONAIR_ENV:-demo}
export LOG_LEVEL=${LOG_LEVEL:-info}
# Demo only: a random per-run secret; production sets JWT_SECRET (or JWT_PUBLIC_KEY) itself.
export JWT_SECRET=${JWT_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
RUNDIR=${ONAIR_RUNDIR:-$PWD/run}
mkdir -p "$RUNDIR"
echo "onair: http://localhost:$PORT/  (admin: /admin, viewer: /viewer?room=ID); Ctrl-C stops"
exec "$B/onair-signal" --app livestream --port "$PORT" \
  --sfu-spawn 1 --sfu-bin "$B/onair-sfu" --sfu-dir "$RUNDIR" \
  --sfu-ip "${SFU_IP:-127.0.0.1}" --sfu-ports "${SFU_PORTS:-40000-40999}"
