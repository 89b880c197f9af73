#!/usr/bin/env bash
# scripts/node24.sh [all|install|build|unit|smoke|node]: kuryr-ts on Node.js 24 LTS,
# next to the machine's Node.js 20.
#   install  Node.js 24 from the npm registry (the platform package
#            node-linux-<arch>, which carries the official binary and headers
#            in its tarball: nothing is fetched at install time) and
#            better-sqlite3 at the lockfile's version, compiled for Node 24's
#            ABI with node-gyp against those headers; once, into a cache
#            outside the repository (KURYR_NODE24_CACHE, default
#            /var/cache/kuryr-ts/node24 as root, else ~/.cache/kuryr-ts/node24).
#   build    tsc -b of the project, run by Node 24 (incremental).
#   unit     the unit tests (those of `npm run test:unit`) under Node 24;
#            `better-sqlite3` resolves to the Node 24 build through a module
#            hook (scripts/node24-sqlite.mjs), the checkout's node_modules stays
#            Node 20's.
#   smoke    the daemon under Node 24 on a temporary socket, Neutron pointed
#            at a closed loopback port: Plugin.Activate and
#            NetworkDriver.GetCapabilities answer; stopped by its pid.
#   all      (default) install, build, unit, smoke; a closing line
#            "node24: N passed, N failed, N skipped" (the unit tests + the
#            smoke test) and exit 0 only when all passed.
#   node     print the path of the Node 24 binary (after install).
# KURYR_NODE24_VERSION picks the version (default below).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VERSION=${KURYR_NODE24_VERSION:-24.22.3}
if [ "$(id -u)" = 0 ]; then DEFAULT_CACHE=/var/cache/kuryr-ts/node24; else DEFAULT_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kuryr-ts/node24; fi
CACHE=${KURYR_NODE24_CACHE:-$DEFAULT_CACHE}
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64) ARCH=arm64 ;;
  *) echo "node24.sh: no node-linux-* package for $(uname -m)" >&2; exit 1 ;;
esac
PKG=node-linux-$ARCH
NODE_HOME=$CACHE/$VERSION/node_modules/$PKG   # bin/node, include/node
NODE24=$NODE_HOME/bin/node
SQLITE_VERSION=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
SQLITE_HOME=$CACHE/$VERSION/better-sqlite3-$SQLITE_VERSION
SQLITE_PKG=$SQLITE_HOME/node_modules/better-sqlite3
SQLITE_ADDON=$SQLITE_PKG/build/Release/better_sqlite3.node

say() { printf 'node24.sh: %s\n' "$*"; }

# npm install into DIR.tmp, then rename: an interrupted install leaves no half tree behind.
npm_into() { # dir spec
  rm -rf "$1.tmp"
  mkdir -p "$1.tmp"
  npm install --prefix "$1.tmp" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund --loglevel=error "$2" >&2
}

install_node() {
  if [ -x "$NODE24" ] && [ "$("$NODE24" --version)" = "v$VERSION" ]; then return; fi
  say "installing Node.js $VERSION ($PKG@$VERSION from the npm registry) into $CACHE/$VERSION"
  npm_into "$CACHE/$VERSION" "$PKG@$VERSION"
  [ -x "$CACHE/$VERSION.tmp/node_modules/$PKG/bin/node" ] || { echo "node24.sh: $PKG@$VERSION has no bin/node" >&2; exit 1; }
  [ -f "$CACHE/$VERSION.tmp/node_modules/$PKG/include/node/node.h" ] || { echo "node24.sh: $PKG@$VERSION has no headers (include/node)" >&2; exit 1; }
  rm -rf "${CACHE:?}/$VERSION"
  mv "$CACHE/$VERSION.tmp" "$CACHE/$VERSION"
}

install_sqlite() {
  if [ -f "$SQLITE_ADDON" ]; then return; fi
  local gyp
  gyp=$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || { echo "node24.sh: npm's node-gyp not found at $gyp" >&2; exit 1; }
  say "building better-sqlite3 $SQLITE_VERSION for Node.js $VERSION (node-gyp, headers of $PKG) into $SQLITE_HOME"
  npm_into "$SQLITE_HOME" "better-sqlite3@$SQLITE_VERSION"
  if ! (cd "$SQLITE_HOME.tmp/node_modules/better-sqlite3" && JOBS=${JOBS:-2} "$NODE24" "$gyp" rebuild --release --nodedir="$NODE_HOME" >"$SQLITE_HOME.tmp/build.log" 2>&1); then
    tail -n 40 "$SQLITE_HOME.tmp/build.log" >&2
    echo "node24.sh: node-gyp could not build better-sqlite3 for Node.js $VERSION (needs python3, make, g++); log: $SQLITE_HOME.tmp/build.log" >&2
    exit 1
  fi
  rm -rf "$SQLITE_HOME"
  mv "$SQLITE_HOME.tmp" "$SQLITE_HOME"
}

# Node 24 first on PATH (bins started through their #!/usr/bin/env node line, npm's
# children) and the module hook in every Node process the tests start.
node24_env() {
  export PATH="$NODE_HOME/bin:$PATH"
  export KURYR_NODE24_SQLITE=$SQLITE_PKG
  export NODE_OPTIONS="--import=$ROOT/scripts/node24-sqlite.mjs${NODE_OPTIONS:+ $NODE_OPTIONS}"
}

build() {
  say "tsc -b under $("$NODE24" --version)"
  "$NODE24" node_modules/typescript/bin/tsc -b tsconfig.json bench/tsconfig.json
}

unit() {
  (
    node24_env
    # the hook's target loads and is Node 24's build, before the whole run depends on it
    node --input-type=module -e "const { default: D } = await import('better-sqlite3'); new D(':memory:').close();"
    # files, not directories: Node 22+ takes --test arguments as files or globs
    node --test --test-concurrency=1 packages/*/dist/test/unit/*.test.js dist/bench/test/*.test.js
  )
}

smoke() {
  local dir conf sock port pid out ok=1
  dir=$(mktemp -d /tmp/kuryr-node24.XXXXXX)
  sock=$dir/kuryr.sock conf=$dir/kuryr.conf
  # a loopback port nobody listens on: Neutron refuses at once
  port=$("$NODE24" -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
  printf '[DEFAULT]\nplugin_socket = %s\nreconcile_interval = 0\ndocker_host = unix:///nonexistent/docker.sock\n[neutron]\nauth_type = none\nendpoint_override = http://127.0.0.1:%s\n[binding]\nhost_id = node24-smoke\n' "$sock" "$port" >"$conf"
  "$NODE24" --max-semi-space-size=1 --max-old-space-size=256 --v8-pool-size=1 --optimize-for-size --expose-gc packages/kuryr/bin/kuryr-server.js --config-file "$conf" --log-file "$dir/kuryr.log" &
  pid=$!
  for _ in $(seq 1 200); do
    [ -S "$sock" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  call() { curl -sS --max-time 10 --unix-socket "$sock" -X POST -d '{}' "http://localhost/$1"; }
  if [ ! -S "$sock" ]; then
    echo "node24 smoke: the daemon did not listen on $sock"; ok=0
  else
    out=$(call Plugin.Activate) || true
    echo "Plugin.Activate -> $out"
    [[ $out == *'"NetworkDriver"'* && $out == *'"IpamDriver"'* ]] || ok=0
    out=$(call NetworkDriver.GetCapabilities) || true
    echo "NetworkDriver.GetCapabilities -> $out"
    [[ $out == *'"Scope":"local"'* ]] || ok=0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "node24 smoke: the daemon did not stop on SIGTERM within 10 s"; kill -KILL "$pid"; ok=0; fi
  wait "$pid" 2>/dev/null || true
  [ ! -e "$sock" ] || { echo "node24 smoke: the socket is still there after the stop"; ok=0; }
  if [ $ok = 1 ]; then
    echo "node24 smoke: ok ($("$NODE24" --version): the daemon answered on its socket with Neutron unreachable, and stopped)"
  else
    echo "node24 smoke: FAILED; the daemon's log:"; sed 's/^/  /' "$dir/kuryr.log" 2>/dev/null || true
  fi
  rm -rf "$dir"
  [ $ok = 1 ]
}

case "${1:-all}" in
  install) install_node; install_sqlite ;;
  build) install_node; build ;;
  unit) install_node; install_sqlite; unit ;;
  smoke) install_node; smoke ;;
  node) install_node; echo "$NODE24" ;;
  all)
    install_node
    install_sqlite
    build
    log=$(mktemp /tmp/kuryr-node24-unit.XXXXXX)
    set +e
    unit 2>&1 | tee "$log"
    unit_rc=${PIPESTATUS[0]}
    set -e
    # node:test's closing counts ("# pass N" as TAP, "ℹ pass N" as spec)
    n() { awk -v k="$1" '($1 == "#" || $1 == "ℹ") && $2 == k && $3 ~ /^[0-9]+$/ {n += $3} END {print n + 0}' "$log"; }
    pass=$(n pass) fail=$(( $(n fail) + $(n cancelled) )) skip=$(n skipped)
    rm -f "$log"
    if [ "$unit_rc" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi   # the run failed before counting
    if smoke; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    echo "node24: $pass passed, $fail failed, $skip skipped"
    [ "$fail" = 0 ]
    ;;
  *) echo "usage: scripts/node24.sh [all|install|build|unit|smoke|node]" >&2; exit 2 ;;
esac
