#!/usr/bin/env bash
# packaging/image/build.sh [NAME] - build the kuryr-ts daemon as a Docker image,
# locally (no registry, nothing pulled): the driver's rootfs
# (packaging/rootfs.sh) piped into `docker import`, with
#   ENTRYPOINT node /app/packages/kuryr/bin/kuryr-server.js
#   CMD        --config-file /etc/kuryr/kuryr.conf
# NAME defaults to kuryr-ts:<version of packages/kuryr>. Prints NAME.
# KURYR_IMAGE_WORK=DIR: build the rootfs in DIR (kept) instead of a temporary
# directory (removed). How to run it: docs/deployment.md.
# Needs: the project built (npm run build), docker, the host tools rootfs.sh copies.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(node -p 'require(process.argv[1]).version' "$REPO/packages/kuryr/package.json")
NAME=${1:-kuryr-ts:$VERSION}
if [ -n "${KURYR_IMAGE_WORK:-}" ]; then
  WORK=$KURYR_IMAGE_WORK
else
  WORK=$(mktemp -d /tmp/kuryr-image.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
fi
bash "$REPO/packaging/rootfs.sh" "$WORK/rootfs"

# numeric owners, root-owned: the image does not depend on the build user
tar --numeric-owner --owner=0 --group=0 -C "$WORK/rootfs" -c . | docker import \
  --change 'ENTRYPOINT ["/usr/bin/node", "--max-semi-space-size=1", "--max-old-space-size=256", "--v8-pool-size=1", "--optimize-for-size", "--expose-gc", "/app/packages/kuryr/bin/kuryr-server.js"]' \
  --change 'CMD ["--config-file", "/etc/kuryr/kuryr.conf"]' \
  --change 'WORKDIR /app' \
  --change "LABEL org.opencontainers.image.title=kuryr-ts org.opencontainers.image.version=$VERSION" \
  --message "kuryr-ts $VERSION daemon" \
  - "$NAME" >/dev/null
echo "$NAME"
