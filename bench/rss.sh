#!/usr/bin/env bash
# Peak memory (RSS) of pimsync against large collections (issue 10). Memory should grow
# with the batch, not with the answer or the collection.
#
#   bench/rss.sh [BIN...]     each pimsync binary to measure (default: a fresh build)
#
# Runs, for each binary, with peak RSS from /usr/bin/time:
#   - a first sync of 10,000 events from a real Radicale into an empty vdir, and a
#     no-op re-sync (Radicale's storage is seeded on disk, so seeding takes seconds);
#   - a first sync of 100,000 events from the fake DAV server (storage/davtest, run by
#     bench/fakedav in its own process, without sync tokens), and a no-op re-sync,
#     which lists all 100,000 hrefs.
# To compare with an older version: git worktree add /tmp/old <commit>; build it there
# with `go build -o /tmp/pimsync-old ./cmd/pimsync`; then bench/rss.sh /tmp/pimsync-old BIN.
# Needs: radicale, /usr/bin/time, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/pimsync-rss-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
for c in radicale curl /usr/bin/time; do
  command -v "$c" >/dev/null || { echo "missing $c (apt-get install radicale curl time)" >&2; exit 1; }
done
mkdir -p "$T/bin"
BINS=("$@")
if [ ${#BINS[@]} -eq 0 ]; then
  go build -o "$T/bin/pimsync" ./cmd/pimsync
  BINS=("$T/bin/pimsync")
fi
go build -o "$T/bin/genevents" ./bench/genevents
go build -o "$T/bin/fakedav" ./bench/fakedav

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitfor() { for _ in $(seq 300); do curl -sf -o /dev/null "$@" && return 0; sleep 0.1; done; echo "server did not start: $*" >&2; exit 1; }

# Radicale with 10,000 events written straight into its file-system storage.
RPORT=$(freeport)
COL="$T/radicale/collection-root/bench/cal"
mkdir -p "$COL"
"$T/bin/genevents" -n 10000 "$COL"
printf '{"tag": "VCALENDAR"}' >"$COL/.Radicale.props"
cat >"$T/radicale.conf" <<EOC
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
EOC
setsid nohup radicale --config "$T/radicale.conf" >"$T/radicale.log" 2>&1 </dev/null &
PIDS+=($!)
waitfor -u bench:x -X PROPFIND -H 'Depth: 0' "http://127.0.0.1:$RPORT/"

# The fake server with 100,000 events.
"$T/bin/fakedav" -n 100000 >"$T/fakedav.url" 2>"$T/fakedav.log" &
PIDS+=($!)
for _ in $(seq 600); do [ -s "$T/fakedav.url" ] && break; sleep 0.1; done
FAKE=$(head -n1 "$T/fakedav.url")

conf() { # dir url user
  cat >"$1/pimsync.conf" <<EOC
status_path "$1/status"
storage local {
    type vdir/icalendar
    path "$1/local"
}
storage remote {
    type caldav
    url $2
    username $3
    password x
}
pair p {
    storage_a local
    storage_b remote
    collection cal
}
EOC
  mkdir -p "$1/local"
}

measure() { # label bin dir
  local wall kb
  /usr/bin/time -o "$3/time" -f '%e %M' "$2" -c "$3/pimsync.conf" sync >/dev/null 2>"$3/err" || tail -n 3 "$3/err" >&2
  read -r wall kb <"$3/time"
  printf '| %s | %s | %s s | %d MB |\n' "$(basename "$2")" "$1" "$wall" $(( (kb + 512) / 1024 ))
}

echo "| binary | run | wall | peak RSS |"
echo "|---|---|---|---|"
for bin in "${BINS[@]}"; do
  d="$T/run-$RANDOM"; mkdir -p "$d"
  conf "$d" "http://127.0.0.1:$RPORT/" bench
  measure "radicale 10,000 events: first sync" "$bin" "$d"
  measure "radicale 10,000 events: no-op" "$bin" "$d"
  d="$T/run-$RANDOM"; mkdir -p "$d"
  conf "$d" "$FAKE/dav/" alice
  measure "fake server 100,000 events: first sync" "$bin" "$d"
  measure "fake server 100,000 hrefs listed: no-op" "$bin" "$d"
done
