#!/usr/bin/env bash
# The peer benchmarks of issue 14 in one command: builds weft's CLI, the bench workspace
# (weft, turmoil, shuttle workloads), madsim's workload in simulation mode and the Porcupine
# driver, then runs everything and writes BENCHMARKS.md at the repository root.
#
#   bash bench/run.sh            full run (about 20-30 minutes on 2 shared cores, builds excluded)
#   bash bench/run.sh --quick    small counts, one round: every table, figures not comparable
#   bash bench/run.sh --out F    write F instead of BENCHMARKS.md
#
# Needs cargo, Go (Debian: golang-go) and python3; perf, when present, profiles weft's short
# runs (full mode). Porcupine's source and the histories are read from ../shared (beside the
# repository), or from $WEFT_PORCUPINE_SRC and $WEFT_PORCUPINE_DATA.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
quick=()
out=()
command="bash bench/run.sh"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=(--quick); command="$command --quick" ;;
        --out) out=(--out "$2"); shift ;;
        *) echo "usage: bench/run.sh [--quick] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done

started=$(date +%s)
echo "== building weft's CLI" >&2
(cd "$root" && cargo build --release --quiet --bin weft)
echo "== building the bench workspace (weft, turmoil, shuttle)" >&2
(cd "$here" && cargo build --release --quiet)
echo "== building madsim's workload (RUSTFLAGS=--cfg madsim, own target directory)" >&2
(cd "$here/madsim" && RUSTFLAGS="--cfg madsim" cargo build --release --quiet)
echo "== building the Porcupine driver" >&2
porcupine_src="${WEFT_PORCUPINE_SRC:-$root/../shared/peers/porcupine}"
# Built from a copy whose go.mod points at Porcupine's source wherever it is.
gobuild="$here/target/porcupine-build"
rm -rf "$gobuild" && mkdir -p "$gobuild" && cp "$here/porcupine/go.mod" "$here/porcupine/main.go" "$gobuild/"
(cd "$gobuild" &&
    go mod edit -replace "github.com/anishathalye/porcupine=$(cd "$porcupine_src" && pwd)" &&
    GOFLAGS=-mod=mod GOPROXY=off go build -o "$here/target/porcupine-bench" .)
built=$(date +%s)

profile=()
if [ ${#quick[@]} -eq 0 ] && command -v perf >/dev/null; then profile=(--profile); fi
python3 "$here/report.py" "${quick[@]}" "${out[@]}" "${profile[@]}" \
    --build-seconds $((built - started)) --command "$command"
