#!/usr/bin/env bash
# Healthcheck of the kamailio container: one SIP OPTIONS over UDP to HOST:PORT, healthy on a 200.
# Usage: sip-options.sh HOST PORT. Needs only bash and coreutils (no sipsak in the image).
# bash's /dev/udp is a connected socket: the answer comes back on the same descriptor, and `;rport`
# makes Kamailio answer to the port we sent from. Same check as the launcher's (scripts/src/sip-options.ts).
set -euo pipefail
host=${1:?usage: sip-options.sh HOST PORT}
port=${2:?usage: sip-options.sh HOST PORT}
id=$RANDOM$RANDOM$RANDOM
printf -v message '%s\r\n' \
  "OPTIONS sip:$host:$port SIP/2.0" \
  "Via: SIP/2.0/UDP $host:9;rport;branch=z9hG4bK$id" \
  'Max-Forwards: 70' \
  "From: <sip:healthcheck@$host>;tag=$id" \
  "To: <sip:$host:$port>" \
  "Call-ID: $id@deskline-healthcheck" \
  'CSeq: 1 OPTIONS' \
  'User-Agent: Deskline healthcheck' \
  'Content-Length: 0'
exec 3<>"/dev/udp/$host/$port"
# Over UDP each write is a datagram of its own, and bash's printf writes line by line: dd gathers the
# whole message (fullblock) and sends it in one write.
printf '%s\r\n' "$message" | dd bs=8192 count=1 iflag=fullblock status=none >&3
# One datagram is one read; timeout ends the wait when nothing comes back.
answer=$(timeout 3 dd bs=65535 count=1 status=none <&3 || true)
[[ $answer == 'SIP/2.0 200 '* ]] || { echo "no 200 to OPTIONS from $host:$port: ${answer%%$'\r'*}" >&2; exit 1; }
