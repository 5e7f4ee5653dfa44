# Shared by scripts/demo, scripts/test and the benchmarks (sourced).
# Installs what is missing, builds and installs the extension, and runs a
# throwaway PostgreSQL cluster.
set -euo pipefail

SG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
# SG_PG_BINDIR points at a private copy of the server (scripts/private-pg)
# so that two working trees on one machine do not install over each other.
PG_BINDIR=${SG_PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}
export PG_CONFIG=$PG_BINDIR/pg_config
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

sg_log() { printf '==> %s\n' "$*" >&2; }

# Debian packages the build, the tests and the demo need.
SG_PACKAGES=(
  build-essential cmake clang-14 libfmt-dev libgtest-dev
  "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
  "postgresql-$PG_MAJOR-pgtap" libtap-parser-sourcehandler-pgtap-perl
  python3-django python3-psycopg2 python3-venv python3-pip python3-setuptools
  alembic python3-alembic ruby-activerecord ruby-pg ruby-railties
)

sg_install_deps() {
  local missing=()
  local pkg
  for pkg in "${SG_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  sg_log "installing with apt-get: ${missing[*]}"
  $SUDO apt-get update -qq
  # The server package would start a cluster of its own; ours are throwaway.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

sg_build_install() {
  sg_log "building schema_guard and installing it into PostgreSQL $PG_MAJOR ($("$PG_CONFIG" --pkglibdir), $("$PG_CONFIG" --sharedir)/extension)"
  make -C "$SG_ROOT" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null
  $SUDO make -C "$SG_ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# Starts a throwaway cluster and exports PGHOST, PGPORT, PGUSER, PGDATABASE.
# Extra arguments are passed to postgres as settings (-c name=value ...).
# It is stopped and removed on exit.
sg_cluster_start() {
  SG_CLUSTER_DIR=$(mktemp -d /tmp/schema_guard.XXXXXX)
  chmod 755 "$SG_CLUSTER_DIR"
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$SG_CLUSTER_DIR"
    run=(runuser -u postgres --)
  fi
  SG_CLUSTER_RUN=("${run[@]}")
  "${run[@]}" "$PG_BINDIR/initdb" -D "$SG_CLUSTER_DIR/data" -U postgres -A trust \
    -E UTF8 --locale=C.UTF-8 --no-sync >"$SG_CLUSTER_DIR/initdb.log" 2>&1 \
    || { cat "$SG_CLUSTER_DIR/initdb.log" >&2; return 1; }
  local port=55432
  while [ -e "/tmp/.s.PGSQL.$port" ] || [ -e "$SG_CLUSTER_DIR/.s.PGSQL.$port" ] \
        || ss -ltn 2>/dev/null | grep -q ":$port "; do
    port=$((port + 1))
  done
  local opts="-k $SG_CLUSTER_DIR -p $port -c listen_addresses='' -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off"
  local extra
  for extra in "$@"; do opts+=" $extra"; done
  "${run[@]}" "$PG_BINDIR/pg_ctl" -D "$SG_CLUSTER_DIR/data" -o "$opts" \
    -l "$SG_CLUSTER_DIR/server.log" -w -s start \
    || { cat "$SG_CLUSTER_DIR/server.log" >&2; return 1; }
  export PGHOST=$SG_CLUSTER_DIR PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  trap sg_cluster_stop EXIT
}

sg_cluster_stop() {
  if [ -n "${SG_CLUSTER_DIR:-}" ] && [ -d "$SG_CLUSTER_DIR/data" ]; then
    "${SG_CLUSTER_RUN[@]}" "$PG_BINDIR/pg_ctl" -D "$SG_CLUSTER_DIR/data" -m immediate -w -s stop >/dev/null 2>&1 || true
    rm -rf "$SG_CLUSTER_DIR"
  fi
}

# The core regression suite (src/test/regress) of Debian's PostgreSQL
# source package, for test/shell/pg_regress_suite.sh: fetched once with
# apt-get source (a deb-src entry is added when the machine has none) into
# build/pgsrc, never into the repository. Tries the installed server's
# version first, then the newest the archive has (security updates' source
# is sometimes not where the binary is). Prints the suite's directory.
sg_pg_regress_source() {
  local cache="$SG_ROOT/build/pgsrc"
  local found
  found=$(ls -d "$cache"/postgresql-*/src/test/regress 2>/dev/null | tail -1 || true)
  if [ -n "$found" ]; then echo "$found"; return 0; fi
  mkdir -p "$cache"
  if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      | $SUDO tee /etc/apt/sources.list.d/schema-guard-src.sources >/dev/null
    $SUDO apt-get update -qq >/dev/null
  fi
  local installed version
  installed=$(dpkg-query -W -f='${Version}' "postgresql-$PG_MAJOR" 2>/dev/null || true)
  (
    cd "$cache" || exit 1
    for version in "$installed" $(apt-cache showsrc "postgresql-$PG_MAJOR" | sed -n 's/^Version: //p' | sort -rV); do
      [ -n "$version" ] || continue
      apt-get source -qq --download-only "postgresql-$PG_MAJOR=$version" >/dev/null 2>&1 && break
    done
    tarball=$(ls postgresql-"$PG_MAJOR"_*.orig.tar.* 2>/dev/null | tail -1 || true)
    [ -n "$tarball" ] || exit 1
    tar xf "$tarball" --wildcards '*/src/test/regress/*' 2>/dev/null
  ) >&2 || return 1
  found=$(ls -d "$cache"/postgresql-*/src/test/regress 2>/dev/null | tail -1 || true)
  [ -n "$found" ] && echo "$found"
}
