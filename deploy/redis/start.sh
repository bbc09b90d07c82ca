#!/usr/bin/env bash
# redis-server with the given arguments (docker-compose.yml: the launcher's, from redisServerArgs()),
# and the password from REDIS_PASSWORD. The password goes in on standard input (`redis-server -` reads
# its config from there), so it is on no command line. masterauth is the same password: a replica
# (docker-compose.scale.yml), or a master the sentinels turned into one, logs in to its master with it.
set -euo pipefail
: "${REDIS_PASSWORD:?REDIS_PASSWORD is not set: see .env.example}"
exec redis-server - "$@" <<<"requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD"
