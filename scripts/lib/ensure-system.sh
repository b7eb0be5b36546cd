# shellcheck shell=bash
# Sourced by scripts/start and scripts/test (bash, `set -euo pipefail` safe). Makes a fresh Debian/Ubuntu
# machine ready: system packages, node_modules, and a local PostgreSQL with trust auth on 127.0.0.1:5432.
#
#   ensure_apt_packages pkg...   install the packages that are not installed (one apt-get update per run)
#   ensure_node_modules          npm ci when node_modules is missing or older than package-lock.json
#   ensure_postgres              a PostgreSQL answering `psql -h 127.0.0.1 -U postgres` without a password

_ENSURE_APT_UPDATED=0
_ENSURE_PG_HOST=127.0.0.1
_ENSURE_PG_PORT=5432

_ensure_log() { printf '[ensure] %s\n' "$*" >&2; }
_ensure_die() {
  printf '[ensure] error: %s\n' "$*" >&2
  return 1
}

# Runs a command as root: directly when root, else through sudo (non-interactive without a terminal).
_ensure_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
  else
    _ensure_die "need root to run '$*' (not root, and sudo is not installed); run it as root, or install sudo"
  fi
}

# True when the package is installed, or an installed package provides it (virtual packages such as
# postgresql-client, provided by postgresql-client-15).
_ensure_pkg_installed() {
  local pkg=$1 status
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] && return 0
  dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null |
    awk -v p="$pkg" '$1 == "installed" { for (i = 2; i <= NF; i++) { gsub(/,/, "", $i); if ($i == p) found = 1 } }
      END { exit found ? 0 : 1 }'
}

ensure_apt_packages() {
  [ "$#" -gt 0 ] || return 0
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    _ensure_log "warning: not a Debian-like system (no dpkg/apt-get); make sure these are installed: $*"
    return 0
  fi
  local pkg
  local -a missing=()
  for pkg in "$@"; do
    _ensure_pkg_installed "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0

  _ensure_log "installing missing system packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    _ensure_die "missing packages: ${missing[*]}. Not root and no sudo: run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    return 1
  fi
  if [ "$_ENSURE_APT_UPDATED" -eq 0 ]; then
    _ensure_as_root apt-get update || _ensure_die "apt-get update failed" || return 1
    _ENSURE_APT_UPDATED=1
  fi
  _ensure_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    _ensure_die "could not install: ${missing[*]}" || return 1
}

ensure_node_modules() {
  if ! command -v npm >/dev/null 2>&1; then
    _ensure_die "npm not found: install Node.js 20.11+ (or 22+) with npm"
    return 1
  fi
  [ -f package-lock.json ] || _ensure_die "package-lock.json not found in $(pwd)" || return 1
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
    _ensure_log "installing node modules (npm ci)"
    npm ci --no-audit --no-fund || _ensure_die "npm ci failed" || return 1
  fi
}

_ensure_pg_ready() { pg_isready -q -h "$_ENSURE_PG_HOST" -p "$_ENSURE_PG_PORT" >/dev/null 2>&1; }

# Lets every local user in without a password (development and test clusters only).
_ensure_pg_trust() {
  local version=$1 name=$2 hba
  hba="/etc/postgresql/$version/$name/pg_hba.conf"
  [ -f "$hba" ] || return 0
  if ! grep -q '^# tyndau: trust local connections' "$hba"; then
    _ensure_log "configuring trust auth for local connections in $hba"
    _ensure_as_root sh -c "{ printf '%s\n' '# tyndau: trust local connections' \
      'local all all trust' 'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust'; cat '$hba'; } > '$hba.tyndau' && \
      cat '$hba.tyndau' > '$hba' && rm -f '$hba.tyndau'"
  fi
}

ensure_postgres() {
  command -v pg_isready >/dev/null 2>&1 || ensure_apt_packages postgresql-client
  if _ensure_pg_ready; then
    _ensure_pg_check_login
    return
  fi

  local created=0
  if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    _ensure_log "PostgreSQL is not installed; installing it"
    ensure_apt_packages postgresql || return 1
    created=1
  fi

  local line version name port status
  local -a clusters=()
  mapfile -t clusters < <(pg_lsclusters --no-header 2>/dev/null || true)
  if [ "${#clusters[@]}" -eq 0 ]; then
    version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || _ensure_die "no PostgreSQL server version found under /usr/lib/postgresql" || return 1
    _ensure_log "creating PostgreSQL $version cluster 'main' on port $_ENSURE_PG_PORT"
    _ensure_as_root pg_createcluster "$version" main --port "$_ENSURE_PG_PORT" -- --auth-local=trust --auth-host=trust ||
      _ensure_die "pg_createcluster failed" || return 1
    created=1
    mapfile -t clusters < <(pg_lsclusters --no-header 2>/dev/null || true)
  fi

  local started=0
  for line in "${clusters[@]}"; do
    read -r version name port status _ <<<"$line"
    [ "$port" = "$_ENSURE_PG_PORT" ] || continue
    [ "$created" -eq 1 ] && _ensure_pg_trust "$version" "$name"
    if [ "$status" != online ] || [ "$created" -eq 1 ]; then
      _ensure_log "starting PostgreSQL cluster $version/$name"
      if [ "$status" = online ]; then
        _ensure_as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload || true
      else
        _ensure_as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start ||
          _ensure_die "could not start PostgreSQL cluster $version/$name (see /var/log/postgresql/)" || return 1
      fi
    fi
    started=1
    break
  done
  [ "$started" -eq 1 ] ||
    _ensure_die "no PostgreSQL cluster on port $_ENSURE_PG_PORT (pg_lsclusters: ${clusters[*]:-none})" || return 1

  local i
  for ((i = 0; i < 60; i++)); do
    _ensure_pg_ready && break
    sleep 0.5
  done
  _ensure_pg_ready || _ensure_die "PostgreSQL did not accept connections on $_ENSURE_PG_HOST:$_ENSURE_PG_PORT within 30 s" || return 1
  _ensure_pg_check_login
}

_ensure_pg_check_login() {
  if ! PGCONNECT_TIMEOUT=5 psql -h "$_ENSURE_PG_HOST" -p "$_ENSURE_PG_PORT" -U postgres -d postgres -XAtqc 'select 1' >/dev/null; then
    _ensure_die "PostgreSQL is up but 'psql -h $_ENSURE_PG_HOST -p $_ENSURE_PG_PORT -U postgres' fails; tests expect trust auth for local connections (pg_hba.conf), or set TEST_DATABASE_URL"
    return 1
  fi
}
