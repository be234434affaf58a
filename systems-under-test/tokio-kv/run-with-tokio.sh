#!/usr/bin/env bash
# tokio-kv with plain tokio: builds the binary without weft, starts the server on a free
# localhost port, talks to it with the client, stops it with SIGINT (tokio's ctrl_c).
# Exit 0 when every answer is the expected one.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p tokio-kv
bin=target/release/tokio-kv
port=$((20000 + RANDOM % 20000))
log=$(mktemp)
"$bin" serve "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q serving "$log" && break; sleep 0.1; done
out=$("$bin" client "127.0.0.1:$port" set a 5 get a incr a 3 incr a -10 get b | tr '\n' ' ')
again=$("$bin" client "127.0.0.1:$port" get a)
kill -INT "$pid"
wait "$pid"
cat "$log"
expected="OK 5 8 -2 (none) "
if [ "$out" != "$expected" ] || [ "$again" != "-2" ] || ! grep -q "tokio-kv: stopped" "$log"; then
    echo "run-with-tokio: got '$out' then '$again', expected '$expected' then '-2'" >&2
    exit 1
fi
echo "run-with-tokio: ok ($out| a second client reads $again)"
