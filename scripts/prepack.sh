#!/usr/bin/env bash
# prepack of each package (npm pack / npm publish run it in the package's
# directory): build the package and the packages it references (tsc -b), drop
# compiled files whose source is gone (tsc -b never deletes them), and
# put the project's LICENSE and CHANGELOG.md beside package.json, where npm
# takes them from, and each PATH given (a file or directory of the repository,
# e.g. packaging/systemd) at the same path in the package (postpack removes the
# copies again).
#   usage (package.json): "prepack": "bash ../../scripts/prepack.sh [PATH...]"
set -euo pipefail
PKG=$PWD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$PKG/package.json" ] || [ ! -d "$PKG/src" ]; then
  echo "prepack: run from a package directory (packages/<name>), not $PKG" >&2; exit 1
fi
"$ROOT/node_modules/.bin/tsc" -b
# compiled files whose source is gone (tsc -b never deletes them) must not ship
while IFS= read -r js; do
  base=${js%.js}
  if [ ! -f "${base#dist/}.ts" ]; then
    echo "prepack: removing $PKG/$base.{js,d.ts,js.map}: its source ${base#dist/}.ts is gone" >&2
    rm -f "$base.js" "$base.d.ts" "$base.js.map"
  fi
done < <(find dist/src -name '*.js' | sort)
cp "$ROOT/LICENSE" "$ROOT/CHANGELOG.md" "$PKG/"
# the copies' top directories start empty (what an interrupted pack left goes),
# and never hold files of the package itself
for top in $(printf '%s\n' "$@" | cut -d/ -f1 | sort -u); do
  if git -C "$PKG" ls-files -- "$top" 2>/dev/null | grep -q .; then
    echo "prepack: $PKG/$top holds files of the package: copy $top elsewhere" >&2; exit 1
  fi
  rm -rf "${PKG:?}/$top"
done
for path in "$@"; do
  mkdir -p "$PKG/$(dirname "$path")"
  cp -a "$ROOT/$path" "$PKG/$(dirname "$path")/"
done
