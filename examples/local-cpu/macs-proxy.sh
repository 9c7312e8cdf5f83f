#!/bin/sh
# A stand-in accuracy for searches of spaces without an accuracy table
# (multihw): 75 + 5*log2(MACs/300M) percent, which grows with the network's
# size as ImageNet accuracy roughly does. It is NOT an accuracy: it only lets a
# search run end to end, e.g. to see how a measured device shapes the
# result. Replace it with a trainer (docs/search.md, command:PROGRAM).
# Needs fleetnas on PATH (go install ./cmd/fleetnas) or $FLEETNAS.
set -eu
fn=${FLEETNAS:-fleetnas}
if ! command -v "$fn" >/dev/null 2>&1; then
  echo "macs-proxy.sh: $fn not found: put fleetnas on PATH (go install ./cmd/fleetnas) or set FLEETNAS=/path/to/fleetnas" >&2
  exit 2
fi
macs=$("$fn" cost --arch "$1" --json | sed -n 's/^ *"macs": *\([0-9]*\).*/\1/p' | head -n 1)
if [ -z "$macs" ]; then
  echo "macs-proxy.sh: no MACs in the output of $fn cost --arch $1 --json" >&2
  exit 2
fi
awk -v m="$macs" 'BEGIN { printf "%.4f\n", 75 + 5 * log(m / 3e8) / log(2) }'
