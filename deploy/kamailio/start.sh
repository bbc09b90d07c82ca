#!/bin/sh
# Kamailio's entrypoint in the container.
#
# 1. kamailio.cfg tests SIP_ADVERTISE with #!ifdef, where an empty variable counts as defined (as
#    nothing). Compose always passes it, empty when .env leaves it empty, so an empty one is removed
#    here; the launcher does the same (kamailioProcessEnv in scripts/src/kamailio.ts).
# 2. Registration with a carrier (pbx-config/TRUNKS.md): from TRUNK_REGISTRAR, TRUNK_USERNAME,
#    TRUNK_PASSWORD, TRUNK_AUTH_USERNAME, TRUNK_REALM, TRUNK_DOMAIN and TRUNK_REGISTER_EXPIRES it writes
#    the db_text tables uac reads into <run dir>/uacreg (the run dir is the argument after -Y; the
#    directory is mode 700, its files 600), and points kamailio.cfg at them with TRUNK_REGISTRATION_DB.
#    The same bytes as the launcher's writer (scripts/src/trunk-registration.ts); the same checks as
#    readTrunkRegistration (scripts/src/launch-config.ts). The password is never printed, and the
#    registration's variables are removed from Kamailio's environment.
#
#    start.sh --write-registration-db RUN_DIR   only writes (or removes) RUN_DIR/uacreg, and exits.
set -eu
export LC_ALL=C

fail() {
  echo "kamailio-start.sh: $*" >&2
  exit 64
}

if [ -z "${SIP_ADVERTISE:-}" ]; then unset SIP_ADVERTISE; fi

write_only=no
run_dir=""
if [ "${1:-}" = "--write-registration-db" ]; then
  [ $# -eq 2 ] || fail "usage: $0 --write-registration-db RUN_DIR"
  write_only=yes
  run_dir=$2
else
  previous=""
  for arg in "$@"; do
    if [ "$previous" = "-Y" ]; then run_dir=$arg; fi
    previous=$arg
  done
fi

nl='
'
cr=$(printf '\r')
VARIABLES="TRUNK_REGISTRAR TRUNK_DOMAIN TRUNK_USERNAME TRUNK_PASSWORD TRUNK_AUTH_USERNAME TRUNK_REALM TRUNK_REGISTER_EXPIRES"

# The value of variable $1 ("" when unset).
value() {
  eval "printf '%s' \"\${$1:-}\""
}

# $2 as a db_text string field: \ : and tab escaped (spaces need none); variable $1 names it in errors.
field() {
  case "$2" in
    *"$nl"* | *"$cr"*) fail "$1 must not contain line breaks" ;;
  esac
  printf '%s' "$2" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' -e 's/\t/\\t/g'
}

# Whether $2 matches the extended regular expression $1 as a whole (one line only).
matches() {
  case "$2" in *"$nl"* | *"$cr"*) return 1 ;; esac
  printf '%s\n' "$2" | grep -Eq "$1"
}

given=""
for name in $VARIABLES; do
  if [ -n "$(value "$name")" ]; then given="$given $name"; fi
done

registration_table() {
  for name in TRUNK_REGISTRAR TRUNK_USERNAME TRUNK_PASSWORD; do
    [ -n "$(value "$name")" ] || fail "$name is not set, but$given is: a registration with the carrier needs TRUNK_REGISTRAR, TRUNK_USERNAME and TRUNK_PASSWORD (pbx-config/TRUNKS.md)"
  done
  registrar=$TRUNK_REGISTRAR
  case "$registrar" in
    \[*\]) registrar="$registrar:5060" ;;
    \[*) ;;
    *:*) ;;
    *) registrar="$registrar:5060" ;;
  esac
  matches '^([0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$' "$registrar" ||
    fail "TRUNK_REGISTRAR=\"$TRUNK_REGISTRAR\" is invalid: it must be the registrar's IP address and port, e.g. 203.0.113.10:5060 ([IPv6]:port); Kamailio resolves no names."
  port=${registrar##*:}
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || fail "TRUNK_REGISTRAR=\"$TRUNK_REGISTRAR\" is invalid: the port must be from 1 to 65535."
  matches '^[A-Za-z0-9+._~-]{1,64}$' "$TRUNK_USERNAME" ||
    fail "TRUNK_USERNAME=\"$TRUNK_USERNAME\" is invalid: it must be 1 to 64 letters, digits or + . _ ~ -."
  auth_username=${TRUNK_AUTH_USERNAME:-$TRUNK_USERNAME}
  matches '^[]!#-[^-~]{1,128}$' "$auth_username" ||
    fail "TRUNK_AUTH_USERNAME=\"$auth_username\" is invalid: it must be 1 to 128 printable characters without spaces, quotes or backslashes."
  realm=${TRUNK_REALM:-}
  if [ -n "$realm" ]; then
    matches '^[] !#-[^-~]{1,128}$' "$realm" ||
      fail "TRUNK_REALM=\"$realm\" is invalid: it must be 1 to 128 printable characters without quotes or backslashes."
  fi
  domain=${TRUNK_DOMAIN:-$registrar}
  matches '^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$' "$domain" ||
    fail "TRUNK_DOMAIN=\"$domain\" is invalid: it must be a domain name or an IP address, with an optional port, e.g. sip.carrier.example."
  expires=${TRUNK_REGISTER_EXPIRES:-300}
  if ! matches '^[0-9]{1,6}$' "$expires" || [ "$expires" -lt 10 ] || [ "$expires" -gt 3600 ]; then
    fail "TRUNK_REGISTER_EXPIRES=\"$expires\" is invalid: it must be a number of seconds from 10 to 3600."
  fi
  expires=$(expr "$expires" + 0)

  user=$(field TRUNK_USERNAME "$TRUNK_USERNAME")
  dom=$(field TRUNK_DOMAIN "$domain")
  realm_field=""
  if [ -n "$realm" ]; then realm_field=$(field TRUNK_REALM "$realm"); fi
  auth=$(field TRUNK_AUTH_USERNAME "$auth_username")
  password=$(field TRUNK_PASSWORD "$TRUNK_PASSWORD")
  proxy=$(field TRUNK_REGISTRAR "sip:$registrar")
  printf '%s\n' 'id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) r_domain(string) realm(string,null) auth_username(string) auth_password(string,null) auth_ha1(string,null) auth_proxy(string,null) expires(int) flags(int) reg_delay(int) contact_addr(string,null) socket(string,null)'
  printf '1:%s:%s:%s:%s:%s:%s:%s:%s::%s:%s:0:0::\n' "$user" "$user" "$dom" "$user" "$dom" "$realm_field" "$auth" "$password" "$proxy" "$expires"
}

unset TRUNK_REGISTRATION_DB
if [ -n "$given" ]; then
  [ -n "$run_dir" ] || fail "a registration with the carrier needs Kamailio's run dir (-Y) for its table"
  table=$(registration_table)
  case "$run_dir" in /*) ;; *) run_dir="$(pwd)/$run_dir" ;; esac
  db="$run_dir/uacreg"
  umask 077
  rm -rf "$db"
  mkdir -p "$db"
  chmod 700 "$db"
  printf 'id(int,auto) table_name(string) table_version(int)\n1:uacreg:5\n' >"$db/version"
  printf '%s\n' "$table" >"$db/uacreg"
  chmod 600 "$db/version" "$db/uacreg"
  export TRUNK_REGISTRATION_DB="text://$db"
elif [ -n "$run_dir" ]; then
  rm -rf "$run_dir/uacreg"
fi
for name in $VARIABLES; do unset "$name"; done

if [ "$write_only" = yes ]; then exit 0; fi
exec "${KAMAILIO_BIN:-/usr/sbin/kamailio}" "$@"
