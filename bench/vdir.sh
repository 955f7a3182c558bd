#!/usr/bin/env bash
# vdir ↔ vdir benchmark of the real binary (issues 2 and 14): first sync and no-op
# re-sync of N generated events (fixed seed), next to the physical floors measured in
# the same run and to vdirsyncer where it is installed.
#
#   bench/vdir.sh [-r RUNS] [-b NAME=BINARY]... [-v MAXN] [N...]
#
#   -r RUNS    repetitions of every measurement (default 3); the table gives the median
#              and the range
#   -b NAME=BINARY  a pimsync binary to measure (repeatable; default: this tree, built);
#              binaries are run alternately, in a rotating order
#   -v MAXN    run vdirsyncer for N up to MAXN (default 10000; 0: never)
#   N...       collection sizes (default 1000 10000 100000)
#
# Per size it measures, with bench/measure (wall, user+system CPU, peak RSS):
#   - floor "stat": find A B -type f -printf '%T@ %s %i\n' over both synced trees, the
#     least a no-op must do (list both directories, stat every file);
#   - floor "durable copy": bench/floor copy, which reads every file and writes it to a
#     new directory with O_TMPFILE, fsync and link, 32 in flight, then fsyncs the
#     directory: the least a first sync with per-item durability must do;
#   - cp -a of the same files (no fsync at all), for calibration;
#   - each binary's first sync into an empty vdir, and its no-op re-sync (after one
#     untimed settling run), with the item files the no-op opens (strace, if present);
#   - vdirsyncer's first sync and no-op.
# Peak RSS is also reported per item above a fixed base: the binary's no-op on a pair
# of one item. Nothing is deleted while the timed runs go on (ext4 without a journal
# makes new files slow for a minute after many deletions); everything is removed at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3 VMAX=10000 BINS=()
while getopts "r:b:v:" o; do
  case $o in
    r) RUNS=$OPTARG ;;
    b) BINS+=("$OPTARG") ;;
    v) VMAX=$OPTARG ;;
    *) sed -n '2,30p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
T=$(mktemp -d "${TMPDIR:-/tmp}/pimsync-vdirbench-XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin"
if [ ${#BINS[@]} -eq 0 ]; then
  go build -o "$T/bin/pimsync" ./cmd/pimsync
  BINS=("pimsync=$T/bin/pimsync")
fi
go build -o "$T/bin/genevents" ./bench/genevents
go build -o "$T/bin/floor" ./bench/floor
go build -o "$T/bin/measure" ./bench/measure
VDS=""
command -v vdirsyncer >/dev/null && [ "$VMAX" -gt 0 ] && VDS=vdirsyncer
STRACE=""
command -v strace >/dev/null && STRACE=strace

names=() ; paths=()
for b in "${BINS[@]}"; do names+=("${b%%=*}"); paths+=("${b#*=}"); done

# conf DIR: a pimsync configuration for the pair a ↔ b in DIR.
conf() {
  cat >"$1/pimsync.conf" <<EOF
status_path "$1/status"
storage a {
    type vdir/icalendar
    path "$1/a"
}
storage b {
    type vdir/icalendar
    path "$1/b"
}
pair p {
    storage_a a
    storage_b b
    collections all
}
EOF
}

# vdsconf DIR: the same pair for vdirsyncer.
vdsconf() {
  mkdir -p "$1/vstatus"
  cat >"$1/config" <<EOF
[general]
status_path = "$1/vstatus/"
[pair p]
a = "a"
b = "b"
collections = ["from a"]
[storage a]
type = "filesystem"
path = "$1/a/"
fileext = ".ics"
[storage b]
type = "filesystem"
path = "$1/b/"
fileext = ".ics"
EOF
}

# workspace SRC DIR: a holds the events of SRC (hard links), b is empty.
workspace() {
  mkdir -p "$2/a" "$2/b"
  cp -al "$1" "$2/a/cal"
}

# timed LABEL CMD...: runs CMD under bench/measure, appends "LABEL wall cpu rss" to $T/data.
timed() {
  local label=$1; shift
  "$T/bin/measure" -o "$T/time" "$@" >"$T/out" 2>&1 || { echo "FAILED: $label: $*" >&2; tail -n 5 "$T/out" >&2; exit 1; }
  local wall cpu user sys rss
  read -r wall cpu user sys rss <"$T/time"
  echo "$label $wall $cpu $rss" >>"$T/data"
}

# floortime LABEL CMD...: a floor tool that reports its own wall and CPU.
floortime() {
  local label=$1; shift
  local out; out=$("$@")
  echo "$label $out 0" >>"$T/data"
}

rotate() { # rotate N I: the binaries' indices starting at I mod N
  local n=$1 i=$2 k
  for ((k = 0; k < n; k++)); do echo $(((i + k) % n)); done
}

: >"$T/data"
for n in "${sizes[@]}"; do
  src="$T/src-$n"
  "$T/bin/genevents" -n "$n" "$src"
  sync
  # The base of the memory figures: one item.
  [ -d "$T/src-base" ] || "$T/bin/genevents" -n 1 "$T/src-base"
  for i in "${!names[@]}"; do
    d="$T/base-$i"; workspace "$T/src-base" "$d"; conf "$d"
    "${paths[$i]}" -c "$d/pimsync.conf" sync >/dev/null
    timed "$n base-noop ${names[$i]}" "${paths[$i]}" -c "$d/pimsync.conf" sync
    rm -rf "$d"
  done
  # First syncs, alternating.
  for ((r = 0; r < RUNS; r++)); do
    floortime "$n floor-copy" "$T/bin/floor" copy -w 32 "$src" "$T/floorcopy-$n-$r"
    timed "$n cp-a" cp -a "$src" "$T/cp-$n-$r"
    for i in $(rotate ${#names[@]} "$r"); do
      d="$T/$n-${names[$i]}-$r"; workspace "$src" "$d"; conf "$d"; sync
      timed "$n first ${names[$i]}" "${paths[$i]}" -c "$d/pimsync.conf" sync
    done
    if [ -n "$VDS" ] && [ "$n" -le "$VMAX" ]; then
      d="$T/$n-vdirsyncer-$r"; workspace "$src" "$d"; vdsconf "$d"
      export VDIRSYNCER_CONFIG="$d/config"
      (yes 2>/dev/null | vdirsyncer discover p >/dev/null 2>&1) || true
      sync
      timed "$n first vdirsyncer" vdirsyncer sync p
    fi
  done
  # No-ops on the workspaces of the first run, alternating with the floors.
  for i in "${!names[@]}"; do
    d="$T/$n-${names[$i]}-0"
    "${paths[$i]}" -c "$d/pimsync.conf" sync >/dev/null # settles (records our own writes)
    if [ -n "$STRACE" ]; then
      strace -f -qq -e trace=openat,open -o "$T/strace" "${paths[$i]}" -c "$d/pimsync.conf" sync >/dev/null
      echo "$n opened ${names[$i]} $(grep -c '\.ics"' "$T/strace" || true)" >>"$T/opened"
    fi
  done
  d0="$T/$n-${names[0]}-0"
  for ((r = 0; r < RUNS; r++)); do
    timed "$n floor-find" find "$d0/a" "$d0/b" -type f -printf '%T@ %s %i\n'
    floortime "$n floor-stat" "$T/bin/floor" stat "$d0/a" "$d0/b"
    for i in $(rotate ${#names[@]} "$r"); do
      timed "$n noop ${names[$i]}" "${paths[$i]}" -c "$T/$n-${names[$i]}-0/pimsync.conf" sync
    done
    if [ -n "$VDS" ] && [ "$n" -le "$VMAX" ]; then
      export VDIRSYNCER_CONFIG="$T/$n-vdirsyncer-0/config"
      timed "$n noop vdirsyncer" vdirsyncer sync p
    fi
  done
  rm -rf "$T/$n-"* "$T/floorcopy-$n-"* "$T/cp-$n-"* "$src"
done

# The report: medians and ranges.
awk -v runs="$RUNS" '
function median(arr, k,   tmp, i, j, t) {
  for (i = 1; i <= k; i++) tmp[i] = arr[i]
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (tmp[j] < tmp[i]) { t = tmp[i]; tmp[i] = tmp[j]; tmp[j] = t }
  return (k % 2) ? tmp[(k + 1) / 2] : (tmp[k / 2] + tmp[k / 2 + 1]) / 2
}
function lo(arr, k,   i, m) { m = arr[1]; for (i = 2; i <= k; i++) if (arr[i] < m) m = arr[i]; return m }
function hi(arr, k,   i, m) { m = arr[1]; for (i = 2; i <= k; i++) if (arr[i] > m) m = arr[i]; return m }
{
  key = $1 " " $2 (NF == 6 ? " " $3 : "")
  off = (NF == 6) ? 1 : 0
  if (!(key in cnt)) order[++nk] = key
  c = ++cnt[key]
  wall[key, c] = $(3 + off); cpu[key, c] = $(4 + off); rss[key, c] = $(5 + off)
}
END {
  print "| N | run | wall: median (range) | × floor | CPU: median (range) | peak RSS | RSS above base, per item |"
  print "|---|---|---|---|---|---|---|"
  for (q = 1; q <= nk; q++) {
    key = order[q]; k = cnt[key]
    split(key, p, " ")
    for (i = 1; i <= k; i++) { w[i] = wall[key, i]; u[i] = cpu[key, i]; m[i] = rss[key, i] }
    mr = median(m, k)
    rsscol = (mr > 0) ? sprintf("%.1f MB", mr / 1024) : "-"
    if (p[2] == "base-noop") base[p[3]] = mr
    mw = median(w, k)
    if (p[2] == "floor-copy") fcopy[p[1]] = mw
    if (p[2] == "floor-find") ffind[p[1]] = mw
    ratio = "-"
    if (p[2] == "first" && (p[1] in fcopy)) ratio = sprintf("%.2f", mw / fcopy[p[1]])
    if (p[2] == "noop" && (p[1] in ffind)) ratio = sprintf("%.2f", mw / ffind[p[1]])
    per = "-"
    if ((p[2] == "first" || p[2] == "noop") && (p[3] in base) && p[1] > 1) per = sprintf("%.0f B", (mr - base[p[3]]) * 1024 / p[1])
    printf "| %s | %s | %.3f s (%.3f–%.3f) | %s | %.3f s (%.3f–%.3f) | %s | %s |\n", p[1], p[2] (p[3] != "" ? " " p[3] : ""), mw, lo(w, k), hi(w, k), ratio, median(u, k), lo(u, k), hi(u, k), rsscol, per
  }
}' "$T/data"
if [ -s "$T/opened" ]; then
  echo
  awk '{ printf "item files opened by a no-op: N=%s %s: %s\n", $1, $3, $4 }' "$T/opened"
fi
echo
echo "$(uname -sr); $(nproc) CPUs; $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(findmnt -no FSTYPE,OPTIONS -T "$T" 2>/dev/null | head -1); $(date -u +%Y-%m-%dT%H:%MZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!names[@]}"; do echo "${names[$i]}: $("${paths[$i]}" version 2>/dev/null | head -1)"; done
[ -n "$VDS" ] && vdirsyncer --version 2>&1 | head -1
exit 0
