#!/bin/sh
# rtpengine's entrypoint in the container.
#
# rtpengine keeps its calls in database RTPENGINE_REDIS_DB (default 1; `off` for none) of the redis
# service (127.0.0.1:REDIS_PORT, REDIS_PASSWORD), so that a restarted rtpengine gets them back
# (docs/operations.md, "What a restart does to calls"). rtpengine takes the Redis password only on its
# command line or in its config file, and a command line is readable by everyone on the machine: so
# this writes the config file given with --config-file plus the `redis` and `redis-write` lines into
# /tmp/rtpengine/rtpengine.conf (directory 700, file 600), runs rtpengine with that file instead, and
# removes the password from its environment. The same lines as the launcher's writer
# (writeRtpengineConfig in scripts/src/rtpengine.ts), the same checks as its settings
# (rtpengineRedisDb in scripts/src/launch-config.ts).
set -eu
export LC_ALL=C

fail() {
  echo "rtpengine-start.sh: $*" >&2
  exit 64
}

db=${RTPENGINE_REDIS_DB:-1}
if [ "$db" != off ]; then
  case $db in
    [0-9] | 1[0-5]) ;;
    *) fail "RTPENGINE_REDIS_DB=\"$db\" is invalid: it must be a Redis database number from 0 to 15, or off." ;;
  esac
  [ "$db" != 0 ] || fail "RTPENGINE_REDIS_DB=0 is invalid: database 0 is the apps' (REDIS_URL)."
  [ -n "${REDIS_PASSWORD:-}" ] || fail "REDIS_PASSWORD is not set: rtpengine's keyspace is in the password-protected redis service."
  port=${REDIS_PORT:-6379}
  case $port in
    '' | *[!0-9]*) fail "REDIS_PORT=\"$port\" is invalid: it must be a port number." ;;
  esac
  shared=""
  for arg do
    case $arg in --config-file=*) shared=${arg#--config-file=} ;; esac
  done
  [ -n "$shared" ] || fail "no --config-file=FILE among the arguments"
  dir=${RTPENGINE_RUN_DIR:-/tmp/rtpengine}
  umask 077
  mkdir -p "$dir"
  chmod 700 "$dir"
  target="$REDIS_PASSWORD@127.0.0.1:$port/$db"
  {
    cat "$shared"
    printf '\n# This installation'"'"'s keyspace (written at start).\nredis = %s\nredis-write = %s\n' "$target" "$target"
  } > "$dir/rtpengine.conf"
  for arg do
    shift
    case $arg in --config-file=*) arg="--config-file=$dir/rtpengine.conf" ;; esac
    set -- "$@" "$arg"
  done
fi
unset REDIS_PASSWORD
# A 2 ms timer slack, inherited by every thread rtpengine starts: its media playback wakes once for all
# the packets due within 2 ms instead of once per packet (RTPENGINE_TIMER_SLACK_NS in
# scripts/src/rtpengine.ts, where the launcher does the same). Best effort: a kernel without the file
# leaves the default.
{ echo 2000000 > /proc/self/timerslack_ns; } 2>/dev/null || :
exec "${RTPENGINE_BIN:-/usr/bin/rtpengine}" "$@"
