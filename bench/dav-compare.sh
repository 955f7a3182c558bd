#!/usr/bin/env bash
# Side-by-side benchmark of pimsync and vdirsyncer 0.19 (Debian package) against the
# same real Radicale and Xandikos servers on loopback (issue 3; test-servers.md §6).
#
#   bench/dav-compare.sh [N]        N generated events (default 1000)
#
# For each server and each tool: the first sync of N events from a local vdir, three
# no-op re-syncs, and a re-sync after 10 edits + 10 deletes + 10 additions; for pimsync
# also no-ops of a second pair over the same collection that discovers it (`collections
# all`) instead of naming it. Reported per run: wall time, client CPU (user+sys, from
# bench/measure), peak RSS, HTTP requests (counted by a proxy in front of the server),
# and the server's CPU for the first sync. Each tool gets its own copy of the data and
# its own collection. Two floors upload the same files with nothing else: Go's net/http
# client, and one goroutine on one connection with no http.Transport (bench/floor put,
# put -raw). The clients talk to the counting proxy, which keeps their connections
# alive even where the server closes each one (Radicale), so no figure includes a dial
# per request. Needs: radicale xandikos vdirsyncer curl.
set -euo pipefail
N=${1:-1000}
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/pimsync-davbench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

for c in radicale xandikos vdirsyncer curl; do
  command -v "$c" >/dev/null || { echo "missing $c (apt-get install radicale xandikos vdirsyncer curl)" >&2; exit 1; }
done

mkdir -p "$T/bin"
go build -o "$T/bin/pimsync" ./cmd/pimsync
go build -o "$T/bin/genevents" ./bench/genevents
go build -o "$T/bin/countproxy" ./bench/countproxy
go build -o "$T/bin/measure" ./bench/measure
go build -o "$T/bin/floor" ./bench/floor

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitfor() { for _ in $(seq 200); do curl -sf -o /dev/null "$@" && return 0; sleep 0.1; done; echo "server did not start: $*" >&2; exit 1; }
start() { # name, command...
  local name=$1; shift
  setsid nohup "$@" >"$T/$name.log" 2>&1 </dev/null &
  PIDS+=($!); echo $! >"$T/$name.pid"
}

# Servers and counting proxies.
RPORT=$(freeport); XPORT=$(freeport); RPROXY=$(freeport); XPROXY=$(freeport)
mkdir -p "$T/radicale" "$T/xandikos"
cat >"$T/radicale.conf" <<EOF
[server]
hosts = 127.0.0.1:$RPORT
[auth]
type = none
[rights]
type = owner_only
[storage]
filesystem_folder = $T/radicale
[logging]
level = warning
EOF
start radicale radicale --config "$T/radicale.conf"
start xandikos xandikos -d "$T/xandikos" -l 127.0.0.1 -p "$XPORT" --defaults
start rproxy "$T/bin/countproxy" -listen "127.0.0.1:$RPROXY" -target "http://127.0.0.1:$RPORT"
start xproxy "$T/bin/countproxy" -listen "127.0.0.1:$XPROXY" -target "http://127.0.0.1:$XPORT"
waitfor -u bench:x -X PROPFIND -H 'Depth: 0' "http://127.0.0.1:$RPORT/"
waitfor -X PROPFIND -H 'Depth: 0' -H 'Content-Type: application/xml' "http://127.0.0.1:$XPORT/user/"
waitfor "http://127.0.0.1:$RPROXY/__count"
waitfor "http://127.0.0.1:$XPROXY/__count"

mkcal() { curl -sf -o /dev/null -X MKCALENDAR "$@"; }
for tool in pim vds floor rawfloor; do
  mkcal -u bench:x "http://127.0.0.1:$RPORT/bench/$tool/"
  mkcal "http://127.0.0.1:$XPORT/user/calendars/$tool/"
done

# Data: N events plus 10 held back for the additions.
"$T/bin/genevents" -n $((N + 10)) "$T/gen"
ls "$T/gen" | sort >"$T/all"
head -n "$N" "$T/all" >"$T/initial"
tail -n 10 "$T/all" >"$T/added"

# setup SERVER: local dirs and configs for both tools.
setup() {
  local srv=$1 url user auth
  if [ "$srv" = radicale ]; then
    url="http://127.0.0.1:$RPROXY"; user="username bench
    password x"; auth=$'username = "bench"\npassword = "x"'
    base="$url/bench"
  else
    url="http://127.0.0.1:$XPROXY"; user=""; auth=""
    base="$url/user/calendars"
  fi
  local d="$T/$srv"
  mkdir -p "$d/pim/local/pim" "$d/vds/local" "$d/vds/status"
  while read -r f; do cp "$T/gen/$f" "$d/pim/local/pim/$f"; cp "$T/gen/$f" "$d/vds/local/$f"; done <"$T/initial"
  cat >"$d/pim/pimsync.conf" <<EOF
status_path "$d/pim/status"
storage local {
    type vdir/icalendar
    path "$d/pim/local"
}
storage remote {
    type caldav
    url $url/
    $user
}
pair bench {
    storage_a local
    storage_b remote
    collection pim
}
EOF
  # The same collection, discovered: a pair with its own status and local copy.
  mkdir -p "$d/pimall/local"
  sed -e "s#$d/pim/status#$d/pimall/status#" -e "s#$d/pim/local#$d/pimall/local#" \
    -e 's#collection pim#collections all#' "$d/pim/pimsync.conf" >"$d/pimall/pimsync.conf"
  cat >"$d/vds/config" <<EOF
[general]
status_path = "$d/vds/status/"

[pair bench]
a = "local"
b = "remote"
collections = null
conflict_resolution = "a wins"

[storage local]
type = "filesystem"
path = "$d/vds/local/"
fileext = ".ics"

[storage remote]
type = "caldav"
url = "$base/vds/"
$auth
EOF
}

# measure LABEL PROXYPORT CMD... → appends a table row; prints nothing else.
measure() {
  local label=$1 port=$2; shift 2
  curl -sf "http://127.0.0.1:$port/__reset" >/dev/null
  "$T/bin/measure" -o "$T/time" "$@" >"$T/out" 2>&1 || { echo "FAILED: $label" >&2; cat "$T/out" >&2; exit 1; }
  local reqs; reqs=$(curl -sf "http://127.0.0.1:$port/__count")
  read -r wall cpu user sys rss <"$T/time"
  printf '| %s | %.3f s | %.0f ms | %d MB | %s |\n' "$label" "$wall" "$(echo "$cpu * 1000" | bc)" $((rss / 1024)) "$reqs" >>"$T/report"
}

servercpu() { ps -o time= -p "$(cat "$T/$1.pid")" | awk -F: '{print $1*3600 + $2*60 + $3}'; }

# mutate DIR: edit SUMMARY in the first 10 files, delete the next 10, add 10 new ones.
mutate() {
  local dir=$1
  head -n 10 "$T/initial" | while read -r f; do sed -i 's/^SUMMARY:[^\r]*/SUMMARY:edited/' "$dir/$f"; done
  sed -n '11,20p' "$T/initial" | while read -r f; do rm "$dir/$f"; done
  while read -r f; do cp "$T/gen/$f" "$dir/$f"; done <"$T/added"
}

echo "| run | wall | client CPU | peak RSS | HTTP requests |" >"$T/report"
echo "|---|---|---|---|---|" >>"$T/report"
for srv in radicale xandikos; do
  setup "$srv"
  d="$T/$srv"; port=$RPROXY; [ "$srv" = xandikos ] && port=$XPROXY
  pid=$srv
  export VDIRSYNCER_CONFIG="$d/vds/config"
  vdirsyncer discover bench >/dev/null 2>&1

  s0=$(servercpu "$pid")
  measure "$srv: vdirsyncer first sync" "$port" vdirsyncer sync bench
  s1=$(servercpu "$pid")
  measure "$srv: pimsync first sync" "$port" "$T/bin/pimsync" -c "$d/pim/pimsync.conf" sync
  s2=$(servercpu "$pid")
  # The floors: the same uploads by Go's net/http client alone, and by one goroutine
  # on one connection with no http.Transport (bench/floor put [-raw]).
  if [ "$srv" = radicale ]; then floorurl="http://bench:x@127.0.0.1:$RPROXY/bench"; else floorurl="http://127.0.0.1:$XPROXY/user/calendars"; fi
  measure "$srv: floor: $N PUTs by Go's net/http alone" "$port" "$T/bin/floor" put "$floorurl/floor/" "$d/vds/local"
  measure "$srv: raw floor: $N PUTs, one at a time, no http.Transport" "$port" "$T/bin/floor" put -raw "$floorurl/rawfloor/" "$d/vds/local"
  echo "| $srv: server CPU during first sync | vdirsyncer $((s1 - s0)) s, pimsync $((s2 - s1)) s | | | |" >>"$T/report"
  "$T/bin/pimsync" -c "$d/pim/pimsync.conf" sync >/dev/null # records our own writes' token
  "$T/bin/pimsync" -c "$d/pimall/pimsync.conf" sync >/dev/null  # the discovering pair's
  "$T/bin/pimsync" -c "$d/pimall/pimsync.conf" sync >/dev/null  # first sync and token
  for i in 1 2 3; do
    measure "$srv: vdirsyncer no-op re-sync $i" "$port" vdirsyncer sync bench
    measure "$srv: pimsync no-op re-sync $i" "$port" "$T/bin/pimsync" -c "$d/pim/pimsync.conf" sync
    measure "$srv: pimsync no-op re-sync $i, collections all" "$port" "$T/bin/pimsync" -c "$d/pimall/pimsync.conf" sync
  done
  mutate "$d/vds/local"
  mutate "$d/pim/local/pim"
  measure "$srv: vdirsyncer 10 edits + 10 deletes + 10 adds" "$port" vdirsyncer sync bench
  measure "$srv: pimsync 10 edits + 10 deletes + 10 adds" "$port" "$T/bin/pimsync" -c "$d/pim/pimsync.conf" sync
done

echo "pimsync $("$T/bin/pimsync" version | cut -d' ' -f2) vs $(vdirsyncer --version 2>&1 | head -1); N=$N events; $(nproc) CPUs; $(date -u +%Y-%m-%d)"
cat "$T/report"
