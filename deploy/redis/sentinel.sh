#!/usr/bin/env bash
# One Redis Sentinel of Deskline's group (docs/scaling.md; docker-compose.scale.yml runs three).
#
# On its first start it writes its config file into SENTINEL_DIR (mode 600: it holds the password);
# afterwards Sentinel keeps what it learned there (the master of the moment, the replicas, the other
# sentinels), so the file is left alone: to change the password, stop the sentinel and delete it.
#
# Access: anyone who can reach the port may ask where the master is (SENTINEL get-master-addr-by-name),
# be told when it changes (SUBSCRIBE +switch-master, which the apps follow) and PING, because
# Kamailio 5.6's ndb_redis cannot log in to a sentinel; everything else (FAILOVER,
# MONITOR, SET, REMOVE, reading the config) needs the user sentinel-admin and REDIS_PASSWORD. The
# sentinels use that user among themselves. The password is never on a command line.
set -euo pipefail
: "${REDIS_PASSWORD:?REDIS_PASSWORD is not set: see .env.example}"
: "${SENTINEL_PORT:?SENTINEL_PORT is not set: the port this sentinel listens on}"
: "${SENTINEL_MONITOR:?SENTINEL_MONITOR is not set: the first master, as "address port"}"
master=${REDIS_SENTINEL_MASTER:-deskline}
dir=${SENTINEL_DIR:-/data}
conf=$dir/sentinel.conf
if [[ $REDIS_PASSWORD =~ [[:space:]\"\'\\] ]]; then
  echo "REDIS_PASSWORD must not contain spaces, quotes or backslashes" >&2
  exit 1
fi
if [[ ! -f $conf ]]; then
  umask 077
  cat >"$conf" <<CONF
bind ${SENTINEL_BIND:-127.0.0.1}
port $SENTINEL_PORT
dir $dir
daemonize no
sentinel resolve-hostnames no
sentinel monitor $master $SENTINEL_MONITOR ${SENTINEL_QUORUM:-2}
sentinel auth-pass $master $REDIS_PASSWORD
sentinel down-after-milliseconds $master ${SENTINEL_DOWN_AFTER_MS:-2000}
sentinel failover-timeout $master 10000
sentinel parallel-syncs $master 1
user default on nopass resetchannels -@all +ping +sentinel|get-master-addr-by-name +subscribe &+switch-master
user sentinel-admin on >$REDIS_PASSWORD +@all
sentinel sentinel-user sentinel-admin
sentinel sentinel-pass $REDIS_PASSWORD
CONF
fi
exec redis-server "$conf" --sentinel
