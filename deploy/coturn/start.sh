#!/usr/bin/env bash
# coturn for Deskline, configured from the environment (docker-compose.yml, service coturn):
#   TURN_SECRET          static-auth-secret, the same value signaling issues credentials with
#   TURN_REALM           the realm (the public name)
#   TURN_PORT            TURN over UDP and TCP (default 3478)
#   TURN_RELAY_PORT_MIN, TURN_RELAY_PORT_MAX   relay ports (UDP)
#   TURN_EXTERNAL_IP     optional: "public" or "public/private" when the server is behind NAT
#   RTPENGINE_INTERFACE  rtpengine's address(es), "local" or "local!advertised": the only peers it relays to
# The config is written to a private temporary file, so the secret is on no command line.
set -euo pipefail
: "${TURN_SECRET:?TURN_SECRET is not set: see .env.example (TURN)}"
: "${TURN_REALM:?TURN_REALM is not set}"
: "${RTPENGINE_INTERFACE:?RTPENGINE_INTERFACE is not set}"

umask 077
conf=$(mktemp /tmp/turnserver.XXXXXX.conf)
{
  echo "listening-port=${TURN_PORT:-3478}"
  echo "min-port=${TURN_RELAY_PORT_MIN:-49160}"
  echo "max-port=${TURN_RELAY_PORT_MAX:-49200}"
  echo 'fingerprint'
  # Time-limited credentials in the TURN REST API format, made by signaling with the same secret.
  echo 'use-auth-secret'
  echo "static-auth-secret=$TURN_SECRET"
  echo "realm=$TURN_REALM"
  if [[ -n ${TURN_EXTERNAL_IP:-} ]]; then echo "external-ip=$TURN_EXTERNAL_IP"; fi
  # Relay to rtpengine and nowhere else: no open relay into the clinic's network or this host.
  echo 'no-multicast-peers'
  for range in 0.0.0.0-0.255.255.255 10.0.0.0-10.255.255.255 100.64.0.0-100.127.255.255 \
    127.0.0.0-127.255.255.255 169.254.0.0-169.254.255.255 172.16.0.0-172.31.255.255 \
    192.0.0.0-192.0.0.255 192.168.0.0-192.168.255.255 198.18.0.0-198.19.255.255 \
    ::1 fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff; do
    echo "denied-peer-ip=$range"
  done
  IFS='!' read -r -a media <<<"$RTPENGINE_INTERFACE"
  for address in "${media[@]}"; do echo "allowed-peer-ip=$address"; done
  echo 'no-cli'
  echo 'no-tls'
  echo 'no-dtls'
  echo 'no-software-attribute'
  echo 'log-file=stdout'
  echo 'simple-log'
  # Its files where its user may write: with use-auth-secret the database holds nothing.
  echo 'pidfile=/tmp/turnserver.pid'
  echo 'userdb=/tmp/turndb'
} >"$conf"
exec turnserver -c "$conf"
