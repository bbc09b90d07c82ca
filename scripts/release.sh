#!/usr/bin/env bash
# Makes the archive clinic IT copy to the server (docs/operations.md, section 4):
# deskline-<version>.tar.gz of the committed tree, unpacking into deskline/.
# Usage: bash scripts/release.sh [output directory, default: the current one]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "${1:-.}" && pwd)
version=$(node -p "require('$root/package.json').version")
if [ -n "$(git -C "$root" status --porcelain)" ]; then
  echo "release: uncommitted changes are not in the archive (it is made from HEAD)" >&2
fi
archive="$out/deskline-$version.tar.gz"
git -C "$root" archive --format=tar.gz --prefix=deskline/ -o "$archive" HEAD
(cd "$out" && sha256sum "deskline-$version.tar.gz" | tee "deskline-$version.tar.gz.sha256")
