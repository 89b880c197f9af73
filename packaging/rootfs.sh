#!/usr/bin/env bash
# packaging/rootfs.sh ROOT - assemble the driver's root filesystem in ROOT
# (emptied first): node, ip, ethtool, ovs-vsctl, iptables/ip6tables with the
# shared libraries they need (copied from this host), and /app holding the
# built driver (packages/kuryr + packages/openstack) with only its production
# dependencies. Used by packaging/plugin/build.sh (managed plugin) and
# packaging/image/build.sh (daemon image).
# Needs: the project built (npm run build), npm, the host tools above.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: rootfs.sh ROOT" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
ROOT=$(cd "$1" && pwd)
for built in packages/kuryr/dist/src/main/kuryr-cli.js packages/openstack/dist/src/errors.js; do
  [ -f "$REPO/$built" ] || { echo "rootfs.sh: $built missing: run npm run build first" >&2; exit 1; }
done

rm -rf "$ROOT"
mkdir -p "$ROOT"/{app,etc/kuryr,run/docker/plugins,run/openvswitch,tmp,proc,sys,dev,usr/bin,usr/sbin,usr/lib}
chmod 1777 "$ROOT/tmp"
mkdir -p "$ROOT/var" && ln -s /run "$ROOT/var/run"   # ovs-vsctl's default /var/run/openvswitch/db.sock
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\n' > "$ROOT/etc/group"
printf 'hosts: files dns\n' > "$ROOT/etc/nsswitch.conf"

copy_with_libs() { # binary...: the binary (symlinks resolved) and every library ldd names
  local b real lib
  for b in "$@"; do
    real=$(readlink -f "$(command -v "$b")")
    mkdir -p "$ROOT$(dirname "$real")"
    cp -L "$real" "$ROOT$real"
    # the name it is called by, if it is a symlink (iptables -> xtables-nft-multi)
    if [ "$(command -v "$b")" != "$real" ]; then
      mkdir -p "$ROOT$(dirname "$(command -v "$b")")"
      ln -sf "$real" "$ROOT$(command -v "$b")"
    fi
    for lib in $(ldd "$real" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}'); do
      mkdir -p "$ROOT$(dirname "$lib")"
      cp -L "$lib" "$ROOT$lib"
    done
  done
}
copy_with_libs node ip ethtool ovs-vsctl iptables ip6tables
# iptables loads its match/target extensions at run time
for d in /usr/lib/x86_64-linux-gnu/xtables /usr/lib/xtables; do
  if [ -d "$d" ]; then mkdir -p "$ROOT$d"; cp -a "$d/." "$ROOT$d/"; fi
done
for so in $(ls /usr/lib/x86_64-linux-gnu/xtables/*.so 2>/dev/null); do
  for lib in $(ldd "$so" | awk '/=> \//{print $3}'); do mkdir -p "$ROOT$(dirname "$lib")"; cp -Ln "$lib" "$ROOT$lib" 2>/dev/null || true; done
done
[ -e "$ROOT/lib64" ] || { mkdir -p "$ROOT/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$ROOT/lib64/"; }
[ -e "$ROOT/usr/bin/node" ] || ln -s "$(readlink -f "$(command -v node)")" "$ROOT/usr/bin/node"

# the app: the driver and the OpenStack client it imports (compiled code), and
# their production dependencies exactly as the committed package-lock.json pins
# them. npm ci runs on the workspace root's manifest and lockfile with only the
# driver's workspace selected: the container service (packages/zun) and the
# root's own dependencies are left out; then the root manifest goes, and
# app/node_modules/.package-lock.json records what was installed.
APP=$ROOT/app
cp -a "$REPO/package.json" "$REPO/package-lock.json" "$APP/"
for pkg in kuryr openstack; do
  mkdir -p "$APP/packages/$pkg/dist"
  cp -a "$REPO/packages/$pkg/package.json" "$APP/packages/$pkg/"
  cp -a "$REPO/packages/$pkg/dist/src" "$APP/packages/$pkg/dist/"
done
cp -a "$REPO/packages/kuryr/bin" "$APP/packages/kuryr/"
LOG=$(mktemp /tmp/kuryr-plugin-npm.XXXXXX)
(cd "$APP" && npm ci --omit=dev --workspace @kuryr-ts/kuryr --include-workspace-root=false \
  --ignore-scripts --no-audit --no-fund >"$LOG" 2>&1) || { cat "$LOG" >&2; rm -f "$LOG"; exit 1; }
rm -f "$LOG"
rm -f "$APP/package.json" "$APP/package-lock.json"
for lib in dockerode kysely pg better-sqlite3 @kuryr-ts/zun; do
  [ ! -e "$APP/node_modules/$lib" ] || { echo "rootfs.sh: $lib must not be in the driver's rootfs" >&2; exit 1; }
done

