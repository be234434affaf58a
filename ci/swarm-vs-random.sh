#!/usr/bin/env bash
# Measures swarm testing against the random strategy on every planted bug of the pool
# scenarios: for each bug, seeds 0 to SEEDS-1 with each strategy, the cases to the first
# failure (at most CASES per search; shrinking is skipped). Prints the README's table.
#
#   bash ci/swarm-vs-random.sh [SEEDS] [CASES]     (defaults: 10 seeds, 20000 cases)
#   env: SCENARIOS (default "pool pool-queue"), BUGS (default: every bug of those scenarios)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
cases=${2:-20000}
cargo build --release -q -p weft-scenarios
weft=target/release/weft
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "name about [bugs: a, b]" -> "name a", "name b"
bugs() {
    "$weft" list | sed -n 's/^\([a-z-]*\) .*\[bugs: \(.*\)\]$/\1 \2/p' |
        while read -r scenario list; do
            for bug in ${list//,/ }; do echo "$scenario $bug"; done
        done | while read -r scenario bug; do
            if [[ " ${SCENARIOS:-pool pool-queue} " == *" $scenario "* ]] &&
                [[ -z "${BUGS:-}" || " $BUGS " == *" $bug "* ]]; then
                echo "$scenario $bug"
            fi
        done
}

# Cases to failure, or "-" when not found within the budget.
cases_to_failure() {
    local json
    json=$("$weft" fuzz "$1" --bug "$2" --seed "$3" --strategy "$4" --cases "$cases" \
        --shrink-time 0 --json --progress none --replay-out "$work/r.json" || true)
    local n
    n=$(sed -n 's/.*"cases_to_failure":\([0-9]*\).*/\1/p' <<<"$json")
    echo "${n:--}"
}

# Median and max of the found values; "found/seeds".
stats() {
    local found sorted n
    found=$(tr ' ' '\n' <<<"$1" | grep -v -- - | sort -n || true)
    n=$(grep -c . <<<"$found" || true)
    if [ "$n" -eq 0 ]; then echo "not found (0/$seeds)"; return; fi
    sorted=($found)
    echo "${sorted[$((n / 2))]} (max ${sorted[$((n - 1))]}; $n/$seeds)"
}

echo "| bug | scenario | random: median (max; found/seeds) | swarm: median (max; found/seeds) |"
echo "|---|---|---|---|"
bugs | while read -r scenario bug; do
    row=()
    for strategy in random swarm; do
        values=""
        for seed in $(seq 0 $((seeds - 1))); do
            values+="$(cases_to_failure "$scenario" "$bug" "$seed" "$strategy") "
        done
        row+=("$(stats "$values")")
    done
    echo "| \`$bug\` | $scenario | ${row[0]} | ${row[1]} |"
done
