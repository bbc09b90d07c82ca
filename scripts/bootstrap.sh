#!/usr/bin/env bash
# Makes `npm start` and `npm test` work on a fresh Debian 12 with any Node.js and npm (Debian's, or
# NodeSource's Node 20): runs every step with the Node.js release in scripts/node-release (fetched
# from npm once when the `node` in PATH is older: scripts/node.sh), installs the Debian packages that
# are missing, installs npm dependencies when the lockfile or Node's major changed, and builds.
# Usage: bash scripts/bootstrap.sh start|test
# Quiet when all is well; on failure it says what failed and shows that step's output.
set -euo pipefail

usage() {
  echo "usage: bash scripts/bootstrap.sh start|test" >&2
  exit 2
}

mode=${1:-}
[[ $mode == start || $mode == test ]] || usage

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

# What each mode needs from Debian, one "check package" pair a line. The check is a command looked up
# in PATH, or an absolute path that must exist (for packages that install no command; it may contain
# a * for the architecture directory). kamailio is checked by path because /usr/sbin is not in every
# user's PATH.
needs_start=(
  # The Node.js release of scripts/node-release links libatomic, which a minimal Debian lacks; it is
  # checked before that Node is fetched (ensure_node).
  "/usr/lib/*/libatomic.so.1 libatomic1"
  "redis-server redis-server"
  "/usr/sbin/kamailio kamailio"
  "/usr/lib/*/kamailio/modules/websocket.so kamailio-websocket-modules"
  "/usr/lib/*/kamailio/modules/ndb_redis.so kamailio-redis-modules"
  "/usr/lib/*/kamailio/modules/auth_ephemeral.so kamailio-autheph-modules"
  "rtpengine rtpengine-daemon"
  # signaling converts managers' prompt uploads (WAV, MP3, Ogg) with sox (docs/call-plan.md, "Prompts");
  # the sip app encodes voicemail messages to MP3 with it (docs/call-plan.md, "Voicemail").
  "sox sox"
  "/usr/lib/*/sox/libsox_fmt_mp3.so libsox-fmt-mp3"
)
needs_test=(
  "${needs_start[@]}"
  "chromium chromium"
  "tini tini"
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core"
  "sipp sip-tester"
  "baresip baresip"
  "linphone-daemon linphone-cli"
  "tshark tshark"
  # scripts/make-media.sh (the built-in prompts are committed; only a change of their text needs it).
  "espeak-ng espeak-ng"
  "docker-compose docker-compose"
  "caddy caddy"
  "svmap sipvicious"
  # The real-engine test of the Compose deployment (tests/deploy): Debian's Docker engine, and
  # debootstrap for the base-image stand-ins when Docker Hub is unreachable.
  "/usr/sbin/dockerd docker.io"
  "debootstrap debootstrap"
)

say() { echo "bootstrap: $*" >&2; }
fail() {
  say "$*"
  exit 1
}

present() {
  if [[ $1 == /*'*'* ]]; then compgen -G "$1" >/dev/null
  elif [[ $1 == /* ]]; then [[ -e $1 ]]
  else command -v "$1" >/dev/null 2>&1; fi
}

# Runs a command with its output kept aside, and shows that output only if the command fails.
quietly() {
  local what=$1
  shift
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    say "$what failed ($*):"
    tail -n 100 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

# Installed packages must not start their own system services: the launcher runs its own Redis,
# Kamailio and rtpengine, and a system copy would hold the same ports (6379, 5060, 22222). policy-rc.d is Debian's
# switch for that; we only add one for the duration of the install, and never replace one.
install_packages() {
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=$policy
    trap "rm -f '$policy'" EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  # wireshark-common (tshark's) asks whether non-root users may capture; the tests run as root, and
  # the answer must not depend on a prompt.
  if [[ " $* " == *" tshark "* ]]; then
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | quietly "debconf preseed" debconf-set-selections
  fi
  quietly "apt-get update" apt-get update -q
  quietly "installing $*" apt-get install -y -q --no-install-recommends "$@"
  if [[ -n $added_policy ]]; then
    rm -f "$added_policy"
    trap - EXIT
  fi
}

ensure_packages() {
  local -a missing=() missing_checks=()
  local entry check package
  for entry in "$@"; do
    read -r check package <<<"$entry"
    if ! present "$check" && [[ " ${missing[*]} " != *" $package "* ]]; then
      missing+=("$package")
      missing_checks+=("$check")
    fi
  done
  ((${#missing[@]} == 0)) && return 0

  if [[ $(id -u) -ne 0 ]]; then
    fail "missing ${missing_checks[*]}. Install as root with:
  apt-get update && apt-get install --no-install-recommends ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 ||
    fail "missing ${missing_checks[*]}, and there is no apt-get here. Install the Debian packages ${missing[*]} (or your system's equivalent)."

  say "installing ${missing[*]}"
  install_packages "${missing[@]}"
  for check in "${missing_checks[@]}"; do
    present "$check" || fail "installed ${missing[*]}, but $check is still missing"
  done
}

# shellcheck source=node.sh
node_say_prefix=bootstrap
source scripts/node.sh
# Puts the Node.js that runs Deskline first in PATH for every step below (npm ci, the build).
ensure_node() {
  node_use || exit 1
}

# npm records what it installed in node_modules/.package-lock.json; a newer package-lock.json means
# the dependencies changed since. node_modules/.deskline-node holds the Node major they were
# installed with: a native addon (argon2) built for another major is installed again.
ensure_dependencies() {
  local major marker=node_modules/.deskline-node
  major=$(node_major_of "$(command -v node)")
  if [[ -f package-lock.json ]]; then
    if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json || $(cat "$marker" 2>/dev/null) != "$major" ]]; then
      say "installing npm dependencies (npm ci, Node.js $major)"
      quietly "npm ci" npm ci --no-audit --no-fund --loglevel=error
    fi
  elif [[ ! -d node_modules || $(cat "$marker" 2>/dev/null) != "$major" ]]; then
    say "installing npm dependencies (npm install, Node.js $major)"
    quietly "npm install" npm install --no-audit --no-fund --loglevel=error
  fi
  echo "$major" >"$marker"
}

if [[ $mode == test ]]; then ensure_packages "${needs_test[@]}"; else ensure_packages "${needs_start[@]}"; fi
ensure_node
ensure_dependencies
quietly "build" npm run build --silent
