#!/usr/bin/env bash
# scripts/test.sh: runs every test suite and ends with one line "N passed, N failed" that sums
# them all; exits non-zero when anything failed or a suite could not run.
#   SUITES="unit fuzz integration e2e"  (default: all)   ONAIR_BUILD=build/asan (servers under test)
set -uo pipefail
cd "$(dirname "$0")/.."
SUITES=${SUITES:-"unit fuzz integration e2e"}
export ONAIR_BUILD=${ONAIR_BUILD:-$PWD/build/asan}
export ONAIR_RELEASE_BUILD=${ONAIR_RELEASE_BUILD:-$PWD/build/release}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
LOGDIR=${TEST_LOGDIR:-build/test-logs}
mkdir -p "$LOGDIR"

total_pass=0 total_fail=0
add() { # suite-name pass fail
  total_pass=$((total_pass + $2)); total_fail=$((total_fail + $3))
  printf '%-28s %5d passed, %d failed\n' "$1" "$2" "$3"
}

# Reads the last "N passed, N failed" line of a log; a run that exited non-zero with no
# failure counted (a crash, a leak report at exit) counts one failure.
count_plain() { # name log rc
  local line p f
  line=$(grep -E '^[[:alnum:]_-]*:? *[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
  if [[ -z $line ]]; then add "$1" 0 1; echo "  $1: no result line (see $2)"; return; fi
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+'); f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
  if [[ $3 -ne 0 && $f -eq 0 ]]; then f=1; echo "  $1: exit $3 (leak or crash, see $2)"; fi
  add "$1" "$p" "$f"
}

count_tap() { # name log rc
  local p f
  p=$(grep -E '^# pass [0-9]+' "$2" | tail -n 1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$2" | tail -n 1 | awk '{print $3}')
  if [[ -z $p ]]; then add "$1" 0 1; echo "  $1: no TAP summary (see $2)"; return; fi
  if [[ $3 -ne 0 && ${f:-0} -eq 0 ]]; then f=1; echo "  $1: exit $3 (see $2)"; fi
  add "$1" "$p" "${f:-0}"
  grep -E '^not ok' "$2" | sed 's/^/  /' | head -n 40
}

for s in $SUITES; do
  case $s in
  unit)
    for t in "$ONAIR_BUILD"/tests/test_*; do
      [[ -x $t ]] || continue
      n=$(basename "$t"); log=$LOGDIR/unit-$n.log
      timeout 300 "$t" >"$log" 2>&1; rc=$?
      count_plain "unit/$n" "$log" $rc
      grep -E '^FAIL|^  .*:[0-9]+: ' "$log" | head -n 20 | sed 's/^/  /'
    done ;;
  fuzz)
    for t in "$ONAIR_BUILD"/fuzz/replay_*; do
      [[ -x $t ]] || continue
      n=${t##*/replay_}; log=$LOGDIR/fuzz-$n.log
      timeout 300 "$t" tests/fuzz/corpus/"$n" >"$log" 2>&1; rc=$?
      count_plain "fuzz-replay/$n" "$log" $rc
    done ;;
  integration)
    files=$(ls tests/integration/*.test.mjs tests/conformance/*.test.mjs 2>/dev/null)
    [[ -n $files ]] || continue
    log=$LOGDIR/integration.log
    timeout 1500 node --test --test-reporter=tap --test-concurrency=2 $files >"$log" 2>&1; rc=$?
    count_tap integration "$log" $rc ;;
  e2e)
    files=$(ls tests/e2e/*.test.mjs 2>/dev/null)
    [[ -n $files ]] || continue
    log=$LOGDIR/e2e.log
    # WebRTC tests run in a private network namespace with only lo (DEVELOPERS.md).
    timeout 1200 unshare -n sh -c 'ip link set lo up && exec node --test --test-reporter=tap --test-concurrency=1 "$@"' sh $files >"$log" 2>&1; rc=$?
    count_tap e2e "$log" $rc ;;
  *) echo "unknown suite $s"; add "$s" 0 1 ;;
  esac
done

echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
