#!/usr/bin/env bash
# The project's test command (README): every test of the workspace, in release mode because
# many tests run thousands of simulated cases.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --release "$@"
# The nightly job itself, with a budget of two seconds per scenario: on a correct tree the
# bundled scenarios (without planted bugs) find nothing, so it must exit 0.
SEED=1 JOBS=1 bash ci/nightly.sh 2s "$(mktemp -d)/nightly"
# The peer benchmarks of issue 14 in quick mode: every workload must build, run and write every
# table (figures not checked), to a temporary file rather than the committed BENCHMARKS.md.
# The bench workspace shares the target directory of the tests above, so only the peers
# (turmoil, shuttle, madsim) and the bench binaries are compiled here.
bash bench/run.sh --quick --out "$(mktemp -d)/BENCHMARKS.md"
