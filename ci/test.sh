#!/usr/bin/env bash
# The project's test command (README): every test of the workspace, in release mode because
# many tests run thousands of simulated cases.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --release "$@"
