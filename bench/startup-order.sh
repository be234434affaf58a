#!/usr/bin/env bash
# Writes scenarios/startup.order: the symbols the `weft` binary runs from exec to exit in a
# `weft check-history` on small shared histories (and `weft --version`), as callgrind lists
# them. scenarios/build.rs hands the file to the linker (lld's --symbol-ordering-file), which
# puts those functions side by side at the start of the text: a short process then touches a
# few hundred kilobytes of code instead of pages spread over six megabytes, each page the
# kernel maps costing time (issue 14: start-up against Porcupine's Go driver). Symbols the
# linker does not find (another toolchain, other features) are skipped, so a stale file costs
# speed, never correctness. Regenerate after a toolchain or dependency update:
#
#   cargo build --release -p weft-scenarios && bash bench/startup-order.sh
#
# Needs valgrind. Reads the histories from ../shared/data/porcupine or $WEFT_PORCUPINE_DATA.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${WEFT_PORCUPINE_DATA:-$root/../shared/data/porcupine}"
weft="${WEFT_BIN:-$root/target/release/weft}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
n=0
run() {
    n=$((n + 1))
    # Exit 1 (not linearizable) is an answer, not a failure.
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$tmp/cg.$n" "$weft" "$@" >/dev/null 2>&1 || true
}
run --version
run check-history "$data/jepsen-etcd/etcd_039.log" --model cas-register
run check-history "$data/jepsen-etcd/etcd_018.log" --model cas-register
run check-history "$data/kv/c01-bad.txt" --model kv
run check-history "$data/kv/c10-ok.txt" --model kv
{
    echo "# The symbols weft's start-up runs, for the linker's --symbol-ordering-file (scenarios/build.rs)."
    echo "# Written by bench/startup-order.sh from callgrind runs of \`weft --version\` and of"
    echo "# \`weft check-history\` on four shared histories; $("$weft" --version), $(rustc --version)."
    grep -ho '^c\?fn=([0-9]*) .*' "$tmp"/cg.* | sed -e 's/^c\{0,1\}fn=([0-9]*) //' -e "s/'[0-9]*\$//" |
        grep -v '^0x\|^(below main)' | LC_ALL=C sort -u
} >"$root/scenarios/startup.order"
echo "wrote scenarios/startup.order: $(grep -vc '^#' "$root/scenarios/startup.order") symbols" >&2
