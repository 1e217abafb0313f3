#!/usr/bin/env bash
# An S3-compatible server on 127.0.0.1 for the tests of `flowlens ingest s3://…`:
# SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process).
#
# Idempotent and quick when done: it builds weed from the Go module proxy into
# ~/.cache/flowlens/bin when missing (minutes, once: see the timing it prints),
# starts the server when it is not answering, waits until it does, and writes
# the endpoint and the test credentials to ~/.cache/flowlens/s3.env, which the
# tests read (they skip, saying to run this script, when the server is absent).
#
# Everything listens on 127.0.0.1 only, on fixed ports away from the usual
# ones: S3 on 18334 (FLOWLENS_S3_PORT), master 18335, volume 18336, filer
# 18337, and their gRPC ports 10000 above. SeaweedFS's telemetry, WebDAV,
# admin UI, Iceberg and Lance servers are off: nothing leaves the machine.
#
# Two identities: flowlens-admin (everything) and flowlens-reader (read and
# list the bucket "flowlens-reader" only), for the access-denied tests.
#
# test.sh runs this script beside the others (building weed is the longest step
# of a first run) and waits for it before the tests:
# service: background
set -euo pipefail

VERSION=v0.0.0-20261109003541-7506e5f91cd6
MODULE=github.com/seaweedfs/seaweedfs
CACHE=${FLOWLENS_CACHE:-$HOME/.cache/flowlens}
BIN=$CACHE/bin/weed-$VERSION
PORT=${FLOWLENS_S3_PORT:-18334}
STATE=$CACHE/seaweedfs
ENV_FILE=$CACHE/s3.env
ADMIN_KEY=flowlens-admin
ADMIN_SECRET=flowlens-admin-secret-for-tests-only
READER_KEY=flowlens-reader
READER_SECRET=flowlens-reader-secret-for-tests-only

log() { printf 's3.sh: %s\n' "$*"; }

# answering: the S3 gateway replies to its health probe.
answering() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
    printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    timeout 2 head -c 12 <&3) 2>/dev/null) || return 1
  [[ $reply == "HTTP/1."?" 200" ]]
}

write_env() {
  mkdir -p "$CACHE"
  cat >"$ENV_FILE.tmp" <<EOF
FLOWLENS_S3_ENDPOINT=http://127.0.0.1:$PORT
FLOWLENS_S3_ACCESS_KEY=$ADMIN_KEY
FLOWLENS_S3_SECRET_KEY=$ADMIN_SECRET
FLOWLENS_S3_READER_ACCESS_KEY=$READER_KEY
FLOWLENS_S3_READER_SECRET_KEY=$READER_SECRET
FLOWLENS_S3_READER_BUCKET=flowlens-reader
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

if answering; then
  write_env
  log "SeaweedFS already answering on 127.0.0.1:$PORT"
  exit 0
fi

if [ ! -x "$BIN" ]; then
  command -v go >/dev/null || { log "go is needed to build SeaweedFS"; exit 1; }
  log "building SeaweedFS $VERSION from the Go module proxy (once; a few minutes)"
  began=$(date +%s)
  # `go install module/weed@version` refuses modules with replace directives,
  # so build inside the downloaded module, where they apply.
  dir=$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "go mod download $MODULE@$VERSION failed"; exit 1; }
  mkdir -p "$CACHE/bin"
  (cd "$dir" && GOFLAGS=-buildvcs=false go build -o "$BIN.tmp" ./weed)
  mv "$BIN.tmp" "$BIN"
  log "built $BIN in $(( $(date +%s) - began ))s"
fi

# A server of ours still starting or stuck: stop it by its recorded pid.
if [ -f "$STATE/weed.pid" ]; then
  pid=$(cat "$STATE/weed.pid")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$(basename "$BIN" | cut -c1-15)" ]; then
    kill "$pid" 2>/dev/null || true
    sleep 1
  fi
fi

# Fresh data on every start: the tests make their own buckets.
rm -rf "$STATE/data"
mkdir -p "$STATE/data"
cat >"$STATE/s3.json" <<EOF
{
  "identities": [
    {"name": "flowlens-admin",
     "credentials": [{"accessKey": "$ADMIN_KEY", "secretKey": "$ADMIN_SECRET"}],
     "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
    {"name": "flowlens-reader",
     "credentials": [{"accessKey": "$READER_KEY", "secretKey": "$READER_SECRET"}],
     "actions": ["Read:flowlens-reader", "List:flowlens-reader"]}
  ]
}
EOF

log "starting SeaweedFS on 127.0.0.1:$PORT (log: $STATE/weed.log)"
nohup setsid "$BIN" mini \
  -dir="$STATE/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -s3.port="$PORT" -s3.config="$STATE/s3.json" -bucket=flowlens-reader \
  -master.port=18335 -volume.port=18336 -filer.port=18337 \
  -master.telemetry=false -webdav=false -admin.ui=false \
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.iam=false \
  -master.volumeSizeLimitMB=64 \
  >"$STATE/weed.log" 2>&1 </dev/null &
echo $! >"$STATE/weed.pid"

for _ in $(seq 1 120); do
  if answering; then
    write_env
    log "SeaweedFS answering on 127.0.0.1:$PORT after $SECONDS s"
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE/weed.pid")" 2>/dev/null; then
    log "SeaweedFS exited; the end of its log:"
    tail -20 "$STATE/weed.log"
    exit 1
  fi
  sleep 0.5
done
log "SeaweedFS did not answer within 60 s; the end of its log:"
tail -20 "$STATE/weed.log"
exit 1
