#!/usr/bin/env bash
# Writes a shrunk copy of scenarios/library/scale-5k.yaml for the scale measurements of
# docs/performance.md: nodes, apps and the rollout rate divided by DIVISOR (so pods per node and
# pod changes per pod stay the same), run for DURATION (the zone outage moves to mid-run).
# Usage: benches/scale-5k-shrink.sh DIVISOR DURATION OUT.yaml   e.g. 10 24h /tmp/s10-24h.yaml
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
div=$1 dur=$2 out=$3
nodes=$(( (5000 + div / 2) / div )) apps=$(( 1500 / div )) period=$(( 12 * div ))
case $dur in
  *h) secs=$(( ${dur%h} * 3600 )) ;; *m) secs=$(( ${dur%m} * 60 )) ;; *s) secs=${dur%s} ;;
  *) echo "DURATION must end in h, m or s" >&2; exit 2 ;;
esac
rolls=$(( (secs - period) / period )); [ "$rolls" -ge 1 ] || rolls=1
sed -e "s#manifests/scale-5k/app.yaml, copies: 1500#$root/scenarios/library/manifests/scale-5k/app.yaml, copies: $apps#" \
    -e "s#count: 5000#count: $nodes#" \
    -e "s#- copies: 1500#- copies: $apps#" \
    -e "s#duration: 24h#duration: $dur#" \
    -e "s#{at: 12s, every: 12s, copies: 7199, rollout: {deployment: \"app-{{i % 1500}}\", image: \"app:v{{i / 1500 + 2}}\"}}#{at: ${period}s, every: ${period}s, copies: $rolls, rollout: {deployment: \"app-{{i % $apps}}\", image: \"app:v{{i / $apps + 2}}\"}}#" \
    "$root/scenarios/library/scale-5k.yaml" > "$out"
[ "$dur" = 24h ] || sed -i "s#{at: 12h, zoneOutage#{at: $(( secs / 2 ))s, zoneOutage#" "$out"
echo "$out: $nodes nodes, $apps apps ($(( apps * 100 )) pods), a rollout every ${period}s, $dur"
