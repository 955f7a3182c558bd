#!/usr/bin/env bash
# vdir ↔ vdir benchmark of the real binary (issue 2): first sync and no-op re-sync of N
# generated events, with wall time, CPU and peak RSS from /usr/bin/time, and the number
# of item files the no-op run opens (counted with strace when it is installed).
#
#   bench/vdir.sh [N...]      default: 1000 10000
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
T=$(mktemp -d /tmp/pimsync-vdirbench-XXXXXX)
trap 'rm -rf "$T"' EXIT
go build -o "$T/pimsync" ./cmd/pimsync
go build -o "$T/genevents" ./bench/genevents

echo "| events | run | wall | CPU (user+sys) | peak RSS | item files opened |"
echo "|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  d="$T/$n"
  mkdir -p "$d/a" "$d/b"
  "$T/genevents" -n "$n" "$d/a/cal"
  cat >"$d/pimsync.conf" <<EOF
status_path "$d/status"
storage a {
    type vdir/icalendar
    path "$d/a"
}
storage b {
    type vdir/icalendar
    path "$d/b"
}
pair p {
    storage_a a
    storage_b b
    collections all
}
EOF
  sync -f "$d/a" 2>/dev/null || sync
  # Calibration: the same files copied by cp -a (no fsync at all) on the same disk.
  /usr/bin/time -f "%e %U %S %M" -o "$d/time" cp -a "$d/a/cal" "$d/copy"
  read -r wall user sys rss <"$d/time"
  printf '| %d | cp -a of the same files (reference, no fsync) | %.2f s | %.2f s | - | - |\n' "$n" "$wall" "$(echo "$user + $sys" | bc)"
  rm -rf "$d/copy"
  sync -f "$d/a" 2>/dev/null || sync
  run() { # label
    /usr/bin/time -f "%e %U %S %M" -o "$d/time" "$T/pimsync" -c "$d/pimsync.conf" sync >/dev/null
    read -r wall user sys rss <"$d/time"
    local opened="-"
    if command -v strace >/dev/null && [ "$1" != "first sync" ]; then
      strace -f -qq -e trace=openat -o "$d/strace" "$T/pimsync" -c "$d/pimsync.conf" sync >/dev/null
      opened=$(grep -c '\.ics"' "$d/strace" || true)
    fi
    printf '| %d | %s | %.2f s | %.2f s | %d MB | %s |\n' "$n" "$1" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024)) "$opened"
  }
  run "first sync"
  "$T/pimsync" -c "$d/pimsync.conf" sync >/dev/null # records the etags of our own writes
  run "no-op re-sync"
  run "no-op re-sync"
done
echo
echo "pimsync $("$T/pimsync" version | cut -d' ' -f2); $(nproc) CPUs; $(date -u +%Y-%m-%d)"
