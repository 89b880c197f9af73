#!/usr/bin/env bash
# npm run pack:all [-- DIR]: the three packages as npm tarballs in DIR (default
# dist/pack), built first by each package's prepack (scripts/prepack.sh):
#   kuryr-ts-openstack-<v>.tgz  kuryr-ts-kuryr-<v>.tgz  kuryr-ts-zun-<v>.tgz
# Prints their paths, one a line, in the order they install in (openstack
# first: the other two depend on it and it is not on any registry):
#   npm install -g --prefix /usr/local DIR/kuryr-ts-openstack-<v>.tgz DIR/kuryr-ts-kuryr-<v>.tgz
# (docs/install.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/dist/pack}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -f "$DIR"/kuryr-ts-openstack-*.tgz "$DIR"/kuryr-ts-kuryr-*.tgz "$DIR"/kuryr-ts-zun-*.tgz
cd "$ROOT"
[ -d node_modules ] || npm ci --no-audit --no-fund
for pkg in openstack kuryr zun; do
  npm pack --silent --workspace "@kuryr-ts/$pkg" --pack-destination "$DIR" >/dev/null
  version=$(node -p "require('./packages/$pkg/package.json').version")
  tgz=$DIR/kuryr-ts-$pkg-$version.tgz
  [ -f "$tgz" ] || { echo "pack.sh: npm pack did not write $tgz" >&2; exit 1; }
  echo "$tgz"
done
