#!/usr/bin/env bash
# make demo: a 1 GiB random file, a copy with 10% of its 1 MiB blocks
# changed, a local sync, then a real `listen` + `push` (TCP, then QUIC) and a
# `pull` on loopback with throwaway identities. Every result is checked
# byte for byte with cmp.
set -euo pipefail
BIN=${BIN:-bin/pdiffagent}
DIR=${DEMO_DIR:-demo-data}
SIZE=${DEMO_SIZE:-1G}
mkdir -p "$DIR/served"
DIR=$(cd "$DIR" && pwd)
export PDIFFAGENT_HOME="$DIR/client-id"

echo "== generating $SIZE of random data in $DIR/source.img"
"$BIN" gen random "$DIR/source.img" --size "$SIZE" --seed 1
"$BIN" gen copy "$DIR/source.img" "$DIR/target.img"
"$BIN" gen mutate "$DIR/target.img" --fraction 0.1 -b 1M --seed 2

echo "== local dry run (exit status 3: the target differs)"
"$BIN" sync -n "$DIR/source.img" "$DIR/target.img" || [ $? -eq 3 ]
echo "== local sync"
"$BIN" sync -v "$DIR/source.img" "$DIR/target.img"
cmp "$DIR/source.img" "$DIR/target.img" && echo "identical"

echo "== network: listen on loopback, push over TLS/TCP and QUIC, pull back"
client_fp=$("$BIN" id)
server_fp=$(PDIFFAGENT_HOME="$DIR/server-id" "$BIN" id)
PDIFFAGENT_HOME="$DIR/server-id" "$BIN" listen 127.0.0.1:0 --root "$DIR/served" \
	--allow "$client_fp" 2>"$DIR/listen.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$DIR/listen.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*msg=listening addr=127.0.0.1:\([0-9]*\).*/\1/p' "$DIR/listen.log" | head -1)
[ -n "$port" ] || { echo "the server did not start:"; cat "$DIR/listen.log"; exit 1; }
echo "server $server_fp on 127.0.0.1:$port (TCP and UDP)"

"$BIN" gen copy "$DIR/source.img" "$DIR/served/replica.img"
"$BIN" gen mutate "$DIR/served/replica.img" --fraction 0.1 -b 1M --seed 3 >/dev/null
echo "-- push, TCP, 10% of the replica's blocks stale"
"$BIN" push -v --pin "$server_fp" "$DIR/source.img" "127.0.0.1:$port/replica.img"
cmp "$DIR/source.img" "$DIR/served/replica.img" && echo "identical"

"$BIN" gen mutate "$DIR/served/replica.img" --fraction 0.1 -b 1M --seed 4 >/dev/null
echo "-- push, QUIC (the pin is remembered now)"
"$BIN" push -v --transport quic "$DIR/source.img" "127.0.0.1:$port/replica.img"
cmp "$DIR/source.img" "$DIR/served/replica.img" && echo "identical"

echo "-- pull into a new file, JSON report"
rm -f "$DIR/pulled.img"
"$BIN" pull --json "127.0.0.1:$port/replica.img" "$DIR/pulled.img"
cmp "$DIR/source.img" "$DIR/pulled.img" && echo "identical"
echo "== server log"
cat "$DIR/listen.log"
