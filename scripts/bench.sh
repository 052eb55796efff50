#!/usr/bin/env bash
# scripts/bench.sh: the signaling benchmark, onair-signal (build/release) against the Node.js
# socket.io 4.8 reference server, side by side in one run (tests/bench/run.mjs; results and
# method in docs/BENCHMARKS.md). `make bench` builds the release binaries first.
#   BENCH_RUNS=3 BENCH_HOLD=5000 BENCH_ROOM=1000 BENCH_MSGS=500 ... (see tests/bench/run.mjs)
#   ONAIR_RELEASE_BUILD=build/release   BENCH_OUT=build/bench (JSON per run + latest.md)
#   BENCH=live: the livestream app instead (5,000 viewers, 2 nodes on Redis; tests/bench/live_run.mjs)
#   BENCH=sfu: the SFU fan-out benchmark instead (tests/bench/sfu_bench.sh, SFU_BENCH_* settings)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${BENCH:-} == sfu ]]; then exec tests/bench/sfu_bench.sh; fi
export ONAIR_RELEASE_BUILD=${ONAIR_RELEASE_BUILD:-$PWD/build/release}
if [[ ! -x $ONAIR_RELEASE_BUILD/onair-signal ]]; then
  echo "bench: $ONAIR_RELEASE_BUILD/onair-signal not built (make)" >&2; exit 1
fi
if [[ ! -d tests/node_modules/socket.io ]]; then
  echo "bench: tests/node_modules missing (make deps, or: cd tests && npm ci)" >&2; exit 1
fi
# 5,000 held clients + the server's sockets: every process needs more than the usual 1024 fds.
hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -gt 65536 ]]; then hard=65536; fi
ulimit -n "$hard"
need=$(( ${BENCH_HOLD:-5000} + ${BENCH_CONNECTS:-2000} + 1000 ))
if (( hard < need )); then echo "bench: ulimit -n is $hard, need about $need" >&2; exit 1; fi
echo "bench: $(nproc) cores, ulimit -n $hard, server $ONAIR_RELEASE_BUILD/onair-signal" >&2
if [[ ${BENCH:-} == live ]]; then exec node tests/bench/live_run.mjs; fi
exec node tests/bench/run.mjs
