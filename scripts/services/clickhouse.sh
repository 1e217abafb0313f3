#!/usr/bin/env bash
# A ClickHouse server on 127.0.0.1 for the tests of engine/clickhouse, the
# ClickHouse ingest and `--engine clickhouse://…`: Debian's clickhouse-server
# (18.16 on bookworm), run by the user clickhouse with a config of our own.
#
# Idempotent and quick when done: it installs the Debian packages when missing,
# starts the server when it is not answering, waits until `SELECT 1` answers,
# and writes the URL to ~/.cache/flowlens/clickhouse.env, which the tests read
# (they skip, saying to run this script, when the server is absent).
#
# It listens on 127.0.0.1 only, HTTP on 18123 (FLOWLENS_CLICKHOUSE_HTTP_PORT)
# and native TCP on 19000 (FLOWLENS_CLICKHOUSE_TCP_PORT), away from the usual
# ports; its data, temporary files and logs are under /var/tmp/flowlens-clickhouse
# (FLOWLENS_CLICKHOUSE_DIR), which the user clickhouse owns. The packaged
# daemon mode fails on its pid file, so the server runs in the foreground
# under setsid, detached from this script, as the user clickhouse (setpriv
# execs it, so the recorded pid is the server's own).
set -euo pipefail

CACHE=${FLOWLENS_CACHE:-$HOME/.cache/flowlens}
HTTP_PORT=${FLOWLENS_CLICKHOUSE_HTTP_PORT:-18123}
TCP_PORT=${FLOWLENS_CLICKHOUSE_TCP_PORT:-19000}
STATE=${FLOWLENS_CLICKHOUSE_DIR:-/var/tmp/flowlens-clickhouse}
ENV_FILE=$CACHE/clickhouse.env
URL="http://127.0.0.1:$HTTP_PORT/"

log() { printf 'clickhouse.sh: %s\n' "$*"; }

# answering: SELECT 1 over HTTP gives 1.
answering() {
  local reply
  reply=$({ exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT"; } 2>/dev/null &&
    printf 'GET /?query=SELECT%%201 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    timeout 2 cat <&3 2>/dev/null) || return 1
  [[ $reply == "HTTP/1."?" 200"* && $reply == *$'\r\n\r\n1'* ]]
}

write_env() {
  mkdir -p "$CACHE"
  printf 'FLOWLENS_CLICKHOUSE_URL=%s\nFLOWLENS_CLICKHOUSE_TCP=127.0.0.1:%s\n' "$URL" "$TCP_PORT" >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

if answering; then
  write_env
  log "ClickHouse already answering at $URL"
  echo "$URL"
  exit 0
fi

if ! command -v clickhouse-server >/dev/null; then
  log "installing clickhouse-server and clickhouse-client (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y clickhouse-server clickhouse-client >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y clickhouse-server clickhouse-client >/dev/null; }
fi
id clickhouse >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin clickhouse

# A server of ours still starting or stuck: stop it by its recorded pid.
if [ -f "$STATE/server.pid" ]; then
  pid=$(cat "$STATE/server.pid")
  if kill -0 "$pid" 2>/dev/null && grep -q clickhouse "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
fi

mkdir -p "$STATE/data" "$STATE/tmp" "$STATE/log" "$STATE/user_files" "$STATE/format_schemas"
cat >"$STATE/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level>
    <log>$STATE/log/server.log</log><errorlog>$STATE/log/server.err.log</errorlog>
    <size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$HTTP_PORT</http_port>
  <tcp_port>$TCP_PORT</tcp_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>1073741824</mark_cache_size>
  <path>$STATE/data/</path>
  <tmp_path>$STATE/tmp/</tmp_path>
  <user_files_path>$STATE/user_files/</user_files_path>
  <format_schema_path>$STATE/format_schemas/</format_schema_path>
  <users_config>$STATE/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
XML
cat >"$STATE/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
chown -R clickhouse: "$STATE"

log "starting ClickHouse at $URL (log: $STATE/log/server.log)"
nohup setsid setpriv --reuid=clickhouse --regid=clickhouse --init-groups \
  clickhouse-server --config-file="$STATE/config.xml" \
  >"$STATE/log/stdout.log" 2>&1 </dev/null &
echo $! >"$STATE/server.pid"

for _ in $(seq 1 120); do
  if answering; then
    write_env
    log "ClickHouse answering at $URL after $SECONDS s"
    echo "$URL"
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; then
    log "ClickHouse exited; the end of its logs:"
    tail -20 "$STATE/log/stdout.log" "$STATE/log/server.err.log" 2>/dev/null
    exit 1
  fi
  sleep 0.5
done
log "ClickHouse did not answer within 60 s; the end of its log:"
tail -20 "$STATE/log/server.err.log" 2>/dev/null
exit 1
