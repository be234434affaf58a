#!/usr/bin/env bash
# Nightly fuzzing: every bundled scenario that must pass (all but the canary), each for a time
# budget, with every failure kept in an output folder (the job's artifact). Exits 0 when
# nothing failed, 1 with a summary when a failure was found, 2 on an error.
#
#   bash ci/nightly.sh [BUDGET] [OUT]        BUDGET per scenario (default 10m), OUT (default
#                                            nightly-out/shard-K): the artifact to keep
#   env: SHARD=K/N (default 0/1)  JOBS (default 0: every core)  SEED (default: today, YYYYMMDD)
#        SCENARIOS="pool kv" (default: every scenario that must pass)
#        PROFILE (default fuzz: fat link-time optimisation, about ten minutes to build, about
#        1.3 times the cases per second of `release`, which short runs may prefer)
#
# Run as N shards with the same SEED on N machines (a CI matrix, a Kubernetes Indexed Job:
# ci/examples/), then `weft merge` their folders: the shards run exactly the cases of one
# unsharded search.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-10m}
shard=${SHARD:-0/1}
jobs=${JOBS:-0}
seed=${SEED:-$(date -u +%Y%m%d)}
out=${2:-nightly-out/shard-${shard%%/*}}

profile=${PROFILE:-fuzz}
cargo build --profile "$profile" -q -p weft-scenarios --bin weft || exit 2
case $profile in dev) dir=debug ;; *) dir=$profile ;; esac
weft=target/$dir/weft
if [ -z "${SCENARIOS:-}" ]; then
    SCENARIOS=$("$weft" list --json | grep '"must_fail":false' |
        sed 's/.*"name":"\([^"]*\)".*/\1/' | tr '\n' ' ')
fi
if [ -e "$out" ]; then
    echo "nightly: $out exists; give an empty or new folder" >&2
    exit 2
fi
mkdir -p "$out"

echo "nightly: seed $seed, shard $shard, $budget per scenario: $SCENARIOS -> $out"
status=0
dirs=()
for scenario in $SCENARIOS; do
    echo "== $scenario"
    "$weft" fuzz "$scenario" --time "$budget" --cases 1000000000000 --keep-going \
        --seed "$seed" --shard "$shard" --jobs "$jobs" --out "$out/$scenario" \
        --progress json --shrink-time 60 >"$out/$scenario.txt"
    code=$?
    dirs+=("$out/$scenario")
    case $code in
        0) echo "   no failure: $(head -1 "$out/$scenario.txt")" ;;
        1) echo "   FAILED: see $out/$scenario.txt"; [ "$status" -eq 0 ] && status=1 ;;
        *) echo "   error (exit $code): see $out/$scenario.txt"; status=2 ;;
    esac
done

echo "== summary ($out/summary.json)"
"$weft" merge "${dirs[@]}" --out "$out/summary.json"
merge=$?
if [ "$merge" -gt 1 ]; then status=2; fi
# The peer benchmarks of issue 14 in quick mode: every workload must build, run and write every
# table (figures not checked). CI's own run is in .ci/run, after the tests; ci/test.sh's short
# nightly run skips it (BENCH=0). Needs Go (Debian: golang-go).
if [ "${BENCH:-1}" != 0 ]; then
    echo "== peer benchmarks, quick mode ($out/BENCHMARKS.quick.md)"
    bash bench/run.sh --quick --out "$out/BENCHMARKS.quick.md" || status=2
fi
exit "$status"
