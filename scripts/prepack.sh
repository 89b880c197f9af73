#!/usr/bin/env bash
# prepack of each package (npm pack / npm publish run it in the package's
# directory): build the package and the packages it references (tsc -b), refuse
# to pack compiled files whose source is gone (tsc -b never deletes them), and
# put the project's LICENSE and CHANGELOG.md beside package.json, where npm
# takes them from (postpack removes the copies again).
set -euo pipefail
PKG=$PWD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$PKG/package.json" ] || [ ! -d "$PKG/src" ]; then
  echo "prepack: run from a package directory (packages/<name>), not $PKG" >&2; exit 1
fi
"$ROOT/node_modules/.bin/tsc" -b
stale=()
while IFS= read -r js; do
  rel=${js#dist/}
  [ -f "${rel%.js}.ts" ] || stale+=("$js")
done < <(cd "$PKG" && find dist/src -name '*.js' | sort)
if [ ${#stale[@]} -gt 0 ]; then
  printf 'prepack: %s has compiled files without a source (rm -rf %s/dist and pack again):\n' "$PKG" "$PKG" >&2
  printf '  %s\n' "${stale[@]}" >&2
  exit 1
fi
cp "$ROOT/LICENSE" "$ROOT/CHANGELOG.md" "$PKG/"
