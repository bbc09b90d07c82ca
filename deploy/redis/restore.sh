#!/usr/bin/env bash
# Restores Deskline's Redis data from a backup made with `redis-cli --rdb` (docs/operations.md,
# "Backups"). Run it with Redis stopped, in the redis image, with the data volume at DATA_DIR:
#   docker compose run --rm --no-deps --user root -v "$PWD/backups:/backup:ro" \
#     --entrypoint /usr/local/bin/deskline-redis-restore redis /backup/FILE.rdb
# Redis with AOF on ignores an RDB file at start, so this loads the backup with AOF off (no network:
# a Unix socket only), then turns AOF on, which writes a fresh AOF of exactly that data. The AOF it
# replaces is kept beside it as appendonlydir.replaced-<time>.
set -euo pipefail
backup=${1:?usage: deskline-redis-restore BACKUP.rdb}
dir=${DATA_DIR:-/data}
[[ -s $backup ]] || { echo "restore: $backup is missing or empty" >&2; exit 1; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [[ -d $dir/appendonlydir ]]; then mv "$dir/appendonlydir" "$dir/appendonlydir.replaced-$stamp"; fi
cp "$backup" "$dir/dump.rdb"

socket=$(mktemp -u /tmp/redis-restore.XXXXXX.sock)
redis-server --port 0 --unixsocket "$socket" --dir "$dir" --dbfilename dump.rdb --appendonly no --save '' --daemonize no &
server=$!
cli() { redis-cli -s "$socket" "$@"; }
for _ in $(seq 100); do
  [[ $(cli ping 2>/dev/null) == PONG ]] && break
  sleep 0.1
done
keys=$(cli dbsize)
cli config set appendonly yes >/dev/null
# Turning AOF on starts a rewrite; it is done when no rewrite runs and the AOF is on.
for _ in $(seq 600); do
  info=$(cli info persistence)
  if [[ $info == *'aof_enabled:1'* && $info == *'aof_rewrite_in_progress:0'* && $info == *'aof_rewrite_scheduled:0'* ]]; then break; fi
  sleep 0.1
done
cli shutdown >/dev/null || true
wait "$server" || true
# Run as root (to read a backup only root may read), it leaves the files to Redis's own user.
if [[ $(id -u) == 0 ]] && id redis >/dev/null 2>&1; then chown -R redis:redis "$dir"; fi
echo "restore: $keys keys from $backup; start Deskline again with: docker compose up -d"
