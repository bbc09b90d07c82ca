#!/usr/bin/env bash
# Healthcheck of an HTTP service: healthy when GET http://HOST:PORT/PATH answers 200.
# Usage: http-ok.sh HOST PORT PATH. Needs only bash and coreutils (no curl or wget in the images).
set -euo pipefail
host=${1:?usage: http-ok.sh HOST PORT PATH}
port=${2:?usage: http-ok.sh HOST PORT PATH}
path=${3:?usage: http-ok.sh HOST PORT PATH}
exec 3<>"/dev/tcp/$host/$port"
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
status=$(timeout 5 head -n 1 <&3 || true)
[[ $status == 'HTTP/1.'[01]' 200 '* ]] || { echo "GET http://$host:$port$path: ${status:-no answer}" >&2; exit 1; }
