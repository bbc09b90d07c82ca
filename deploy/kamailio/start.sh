#!/bin/sh
# Kamailio's entrypoint in the container: kamailio.cfg tests SIP_ADVERTISE with #!ifdef, where an empty
# variable counts as defined (as nothing). Compose always passes it, empty when .env leaves it empty,
# so an empty one is removed here; the launcher does the same (kamailioProcessEnv in scripts/src/kamailio.ts).
set -eu
if [ -z "${SIP_ADVERTISE:-}" ]; then unset SIP_ADVERTISE; fi
exec "${KAMAILIO_BIN:-/usr/sbin/kamailio}" "$@"
