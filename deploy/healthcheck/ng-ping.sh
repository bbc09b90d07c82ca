#!/usr/bin/env bash
# Healthcheck of the rtpengine container: the ng protocol's `ping` over UDP, healthy on `pong`.
# Usage: ng-ping.sh HOST PORT. Needs only bash and coreutils. Same check as the launcher's
# (ngPing() in scripts/src/rtpengine-ng.ts): a datagram "<cookie> d7:command4:pinge", answered
# "<cookie> d6:result4:ponge".
set -euo pipefail
host=${1:?usage: ng-ping.sh HOST PORT}
port=${2:?usage: ng-ping.sh HOST PORT}
cookie=hc$RANDOM$RANDOM
exec 3<>"/dev/udp/$host/$port"
printf '%s d7:command4:pinge' "$cookie" >&3
answer=$(timeout 3 dd bs=65535 count=1 status=none <&3 || true)
[[ $answer == "$cookie d6:result4:ponge" ]] || { echo "no pong from rtpengine at $host:$port: $answer" >&2; exit 1; }
