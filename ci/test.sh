#!/usr/bin/env bash
# The project's test command (README): every test of the workspace, in release mode because
# many tests run thousands of simulated cases.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --release "$@"
# The nightly job itself, with a budget of two seconds per scenario: on a correct tree the
# bundled scenarios (without planted bugs) find nothing, so it must exit 0. Without its peer
# benchmarks (BENCH=0): see BENCHMARKS.md, "CI"; with the release build the tests made, not the
# nightly job's own link-time-optimised one (ten minutes to build).
SEED=1 JOBS=1 BENCH=0 PROFILE=release bash ci/nightly.sh 2s "$(mktemp -d)/nightly"
