#!/usr/bin/env bash
# tests/bench/sfu_bench.sh: the SFU fan-out benchmark (docs/BENCHMARKS.md, "SFU fan-out"):
# tests/bench/sfu_run.mjs with build/release/onair-sfu and the tools sfu_load, sfu_pub and sfu_limit, in a
# private network namespace (WebRTC traffic stays on its own loopback). scripts/bench.sh runs it
# for BENCH=sfu or BENCH=all; `make bench` builds the tools. Settings: see sfu_run.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ONAIR_RELEASE_BUILD=${ONAIR_RELEASE_BUILD:-$PWD/build/release}
for f in onair-sfu tools/sfu_load tools/sfu_pub tools/sfu_limit; do
  if [[ ! -x $ONAIR_RELEASE_BUILD/$f ]]; then
    echo "sfu bench: $ONAIR_RELEASE_BUILD/$f not built (make binaries tools)" >&2; exit 1
  fi
done
# one socket per subscriber on each side, plus libnice's own
hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -gt 65536 ]]; then hard=65536; fi
ulimit -n "$hard"
echo "sfu bench: $(nproc) cores, ulimit -n $hard, $ONAIR_RELEASE_BUILD/onair-sfu" >&2
exec unshare -n sh -c 'ip link set lo up && exec node tests/bench/sfu_run.mjs'
