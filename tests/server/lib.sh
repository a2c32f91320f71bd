# lib.sh: start and stop a real trailmapd on a free port for server tests.
# Source it; it sets $tm (client), $tmd (server), $tmp (scratch dir, removed
# at exit) and defines start_server / stop_server / kill_server.
source "$(dirname "${BASH_SOURCE[0]}")/../check.sh"
tmd="$build/trailmapd"
server_pid=""
cleanup() { local j; for j in $(jobs -p); do kill "$j" 2>/dev/null; done; [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; rm -rf "$tmp"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server DATA_DIR [trailmapd options...]: sets $server_pid, $TRAILMAP_SERVER
# (unless a --listen is given) and waits until it answers.  The web page is
# off unless an --http is given.
start_server() {
  local data=$1; shift
  local listen=()
  if [[ " $* " != *" --listen "* ]]; then
    export TRAILMAP_SERVER="tcp://127.0.0.1:$(free_port)"
    listen=(--listen "$TRAILMAP_SERVER")
  fi
  # the web page's default port would clash between tests run at once
  [[ " $* " == *" --http "* ]] || listen+=(--http none)
  local before
  before=$(grep -c "trailmapd: ready" "$tmp/server.log" 2>/dev/null || true)
  "$tmd" "${listen[@]}" --data "$data" --rules "$src/rules" "$@" >>"$tmp/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    [ "$(grep -c "trailmapd: ready" "$tmp/server.log" 2>/dev/null)" -gt "${before:-0}" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "trailmapd did not start:" >&2
  cat "$tmp/server.log" >&2
  return 1
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid"
  wait "$server_pid"
  local rc=$?
  server_pid=""
  return $rc
}

kill_server() {
  [ -n "$server_pid" ] || return 0
  kill -9 "$server_pid"
  wait "$server_pid" 2>/dev/null
  server_pid=""
}
