#!/usr/bin/env bash
# Runs a command with the Node.js Deskline runs on first in PATH (scripts/node.sh: the `node` in PATH
# when it is new enough, otherwise the release scripts/node-release names, fetched once into a
# cache), so that `node`, `npm`, `tini -- node` and every child that starts `process.execPath` or
# `node` get that Node. npm start, npm test and the other scripts in package.json go through it.
# Usage: bash scripts/with-node.sh <command> [args …]
set -euo pipefail
(($# > 0)) || { echo "usage: bash scripts/with-node.sh <command> [args …]" >&2; exit 2; }
# shellcheck source=node.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/node.sh"
node_use
exec "$@"
