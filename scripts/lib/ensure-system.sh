# shellcheck shell=bash
# Sourced by scripts/start and scripts/test (bash, `set -euo pipefail` safe). Makes a fresh Debian/Ubuntu
# machine ready: system packages, Node.js 24, node_modules, and a local PostgreSQL with trust auth on
# 127.0.0.1:5432.
#
#   ensure_apt_packages pkg...   install the packages that are not installed (one apt-get update per run)
#   ensure_node                  Node.js >= 24 first in PATH: the machine's own when it is new enough, else
#                                the official binary from the npm registry (node-<os>-<arch>), unpacked once
#                                into .tools/ (git-ignored); npm, npx and every script then run on it
#   ensure_node_modules          npm ci when node_modules is missing, older than package-lock.json, or was
#                                installed under another Node.js ABI
#   ensure_postgres              a PostgreSQL answering `psql -h 127.0.0.1 -U postgres` without a password

_ENSURE_APT_UPDATED=0
# The Node.js that ./scripts/* run on when the machine's is older than 24: an exact version, like every
# dependency in package.json (bump it here; engines in package.json says ">=24").
TYNDAU_NODE_VERSION=24.22.3
TYNDAU_NODE_MAJOR=${TYNDAU_NODE_VERSION%%.*}
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

# Major version of the `node` first in PATH, or 0 when there is none.
_ensure_node_major() {
  local v
  v=$(node -p 'process.versions.node' 2>/dev/null) || v=0
  printf '%s\n' "${v%%.*}"
}

ensure_node() {
  if [ "$(_ensure_node_major)" -ge "$TYNDAU_NODE_MAJOR" ]; then
    return 0
  fi
  local os arch dir pkg tmp tarball
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) _ensure_die "no Node.js $TYNDAU_NODE_MAJOR for $(uname -s): install Node.js $TYNDAU_NODE_MAJOR+ yourself" || return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) _ensure_die "no Node.js $TYNDAU_NODE_MAJOR for $(uname -m): install Node.js $TYNDAU_NODE_MAJOR+ yourself" || return 1 ;;
  esac
  dir="$PWD/.tools/node-v$TYNDAU_NODE_VERSION-$os-$arch"
  if [ ! -x "$dir/bin/node" ]; then
    # The registry's node-<os>-<arch> package holds the official binary (bin/node) and nothing else; npm
    # checks its integrity. Fetching it needs the machine's npm, which then runs on the new node (below).
    command -v npm >/dev/null 2>&1 ||
      _ensure_die "node $(node -v 2>/dev/null || echo missing) is older than $TYNDAU_NODE_MAJOR and npm is not installed to fetch Node.js $TYNDAU_NODE_VERSION: install Node.js $TYNDAU_NODE_MAJOR+" ||
      return 1
    pkg="node-$os-$arch@$TYNDAU_NODE_VERSION"
    _ensure_log "node $(node -v 2>/dev/null || echo missing) is older than $TYNDAU_NODE_MAJOR: installing $pkg from the npm registry into .tools/"
    mkdir -p .tools
    tmp=$(mktemp -d "$PWD/.tools/.node.XXXXXX")
    if ! tarball=$(cd "$tmp" && npm pack "$pkg" --silent --no-fund --no-audit 2>/dev/null | tail -n 1) ||
      [ ! -f "$tmp/$tarball" ] ||
      ! tar -xzf "$tmp/$tarball" -C "$tmp" package/bin/node package/LICENSE ||
      ! "$tmp/package/bin/node" -e 'process.exit(0)'; then
      rm -rf "$tmp"
      _ensure_die "could not install $pkg from the npm registry" || return 1
    fi
    mkdir -p "$tmp/node/bin"
    mv "$tmp/package/bin/node" "$tmp/node/bin/node"
    mv "$tmp/package/LICENSE" "$tmp/node/LICENSE"
    rm -rf "$dir"
    mv "$tmp/node" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  [ "$(_ensure_node_major)" -ge "$TYNDAU_NODE_MAJOR" ] ||
    _ensure_die "$dir/bin/node does not run as Node.js $TYNDAU_NODE_MAJOR" || return 1
  _ensure_log "using node $(node -v) from .tools/ (npm $(npm -v 2>/dev/null || echo missing) runs on it)"
}

ensure_node_modules() {
  if ! command -v npm >/dev/null 2>&1; then
    _ensure_die "npm not found: install Node.js $TYNDAU_NODE_MAJOR+ with npm"
    return 1
  fi
  [ -f package-lock.json ] || _ensure_die "package-lock.json not found in $(pwd)" || return 1
  # Native addons are built for one Node.js ABI: a node_modules from another Node.js is installed again.
  local abi
  abi=$(node -p 'process.versions.modules')
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ] ||
    [ "$(cat node_modules/.tyndau-node-abi 2>/dev/null)" != "$abi" ]; then
    _ensure_log "installing node modules (npm ci) for node $(node -v)"
    npm ci --no-audit --no-fund || _ensure_die "npm ci failed" || return 1
    printf '%s\n' "$abi" >node_modules/.tyndau-node-abi
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
