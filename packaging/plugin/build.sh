#!/usr/bin/env bash
# packaging/plugin/build.sh [NAME] - build kuryr-ts as a Docker managed (v2)
# plugin, locally (no registry): a rootfs with node, the built driver
# (packages/kuryr + packages/openstack) and their production dependencies, and
# ip, ethtool, ovs-vsctl, iptables with the shared libraries they need (copied
# from this host), assembled by packaging/rootfs.sh, plus config.json; then
# `docker plugin create NAME` (default kuryr-ts:latest). Prints the plugin dir.
# KURYR_PLUGIN_NO_CREATE=1: build the plugin dir only (no docker needed).
# KURYR_PLUGIN_WORK=DIR: build in DIR instead of a new temporary directory.
# Needs: the project built (npm run build), docker, the host tools above.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
NAME=${1:-kuryr-ts:latest}
WORK=${KURYR_PLUGIN_WORK:-$(mktemp -d /tmp/kuryr-plugin.XXXXXX)}
ROOT=$WORK/rootfs

bash "$REPO/packaging/rootfs.sh" "$ROOT"

cp "$HERE/config.json" "$WORK/config.json"
if [ "${KURYR_PLUGIN_NO_CREATE:-}" != 1 ]; then
  docker plugin rm -f "$NAME" >/dev/null 2>&1 || true
  docker plugin create "$NAME" "$WORK" >/dev/null
fi
echo "$WORK"
