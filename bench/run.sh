#!/usr/bin/env bash
# The peer benchmarks of issue 14 in one command: builds weft's CLI, the bench workspace
# (weft, turmoil, shuttle workloads), madsim's workload in simulation mode and the Porcupine
# driver, then runs everything and writes BENCHMARKS.md at the repository root.
#
#   bash bench/run.sh            full run (about 20-30 minutes on 2 shared cores, builds excluded)
#   bash bench/run.sh --quick    small counts, one round: every table, figures not comparable
#                                (CI runs it: .ci/run)
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
# weft's workload (`bench/weft`, crate bench-weft) is a member of the main workspace: it builds
# with the project's own lock, features and flags, so after the tests' release build
# (`cargo test --workspace --release`: the same packages, so the same features) nothing is
# compiled again. The peers' workloads (turmoil, shuttle) are a workspace of their own
# (`bench/Cargo.toml`) built into the same target directory; madsim needs `--cfg madsim` on
# every crate: its own target directory.
target="${CARGO_TARGET_DIR:-$root/target}"
export WEFT_BENCH_TARGET="$target"
echo "== building weft's CLI and weft's workload" >&2
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --workspace)
echo "== building the peers' workloads (turmoil, shuttle)" >&2
(cd "$here" && CARGO_TARGET_DIR="$target" cargo build --release --quiet -p bench-turmoil -p bench-shuttle)
echo "== building madsim's workload (RUSTFLAGS=--cfg madsim, own target directory)" >&2
(cd "$here/madsim" && RUSTFLAGS="--cfg madsim" cargo build --release --quiet)
echo "== building the Porcupine driver" >&2
porcupine_src="${WEFT_PORCUPINE_SRC:-$root/../shared/peers/porcupine}"
# Built from a copy whose go.mod points at Porcupine's source wherever it is.
gobuild="$target/porcupine-build"
rm -rf "$gobuild" && mkdir -p "$gobuild" && cp "$here/porcupine/go.mod" "$here/porcupine/main.go" "$gobuild/"
(cd "$gobuild" &&
    go mod edit -replace "github.com/anishathalye/porcupine=$(cd "$porcupine_src" && pwd)" &&
    GOFLAGS=-mod=mod GOPROXY=off go build -o "$target/porcupine-bench" .)
built=$(date +%s)

profile=()
if [ ${#quick[@]} -eq 0 ] && command -v perf >/dev/null; then profile=(--profile); fi
python3 "$here/report.py" "${quick[@]}" "${out[@]}" "${profile[@]}" \
    --build-seconds $((built - started)) --command "$command"
