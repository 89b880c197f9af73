#!/usr/bin/env bash
# lab/images.sh - build the lab's local test images without any registry, from
# Debian's busybox-static (/bin/busybox):
#   kuryr/busybox:latest  rootfs = /bin/busybox + a symlink for every applet
#                         (sh ip ping sleep nc httpd wget ifconfig route udhcpc ...),
#                         minimal /etc/passwd, /etc/group; CMD ["sh"]
#   kuryr/pause:latest    the same rootfs; CMD = a shell that sleeps forever and
#                         exits 0 on SIGTERM/SIGINT/SIGHUP (as PID 1 a plain
#                         `sleep infinity` would ignore SIGTERM and make every
#                         `docker stop` wait its full 10 s timeout)
# Both are made with `docker import --change ...`. An image that already exists
# is skipped. After building (or with --check) it verifies:
#   docker run --rm --net none kuryr/busybox sh -c 'ip link; ping -c1 127.0.0.1; echo ok'
# Usage: images.sh [--check] [--force]   (--force: rebuild both)
# Needs a running Docker Engine on /var/run/docker.sock (up.sh calls this).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHECK=0 FORCE=0
for a in "$@"; do
  case $a in
    --check) CHECK=1 ;;
    --force) FORCE=1 ;;
    *) echo "usage: images.sh [--check] [--force]" >&2; exit 2 ;;
  esac
done
need_root
docker_ok || die "docker is not answering on $DOCKER_SOCK (run up.sh)"
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static, see install.sh)"

BUSYBOX_IMG=kuryr/busybox:latest
PAUSE_IMG=kuryr/pause:latest
# applets the tests rely on; the build fails if one is missing
REQUIRED=(sh ip ping sleep nc httpd wget cat ls echo hostname ifconfig route grep sed
  awk true false ps kill mkdir rm udhcpc arp)
PAUSE_CMD='["sh","-c","trap \"exit 0\" TERM INT HUP; sleep infinity & wait"]'

# Bump when the rootfs changes: an image with another version is rebuilt.
IMAGE_VERSION=2
have_image() { [ "$(docker image inspect -f '{{index .Config.Labels "kuryr-lab.image-version"}}' "$1" 2>/dev/null)" = "$IMAGE_VERSION" ]; }

ROOTFS=
cleanup() { if [ -n "$ROOTFS" ]; then rm -rf "$ROOTFS"; fi; }
trap cleanup EXIT

make_rootfs() { # -> $ROOTFS
  [ -z "$ROOTFS" ] || return 0
  ROOTFS=$(mktemp -d /tmp/kuryr-lab-rootfs.XXXXXX)
  local d=$ROOTFS f a
  mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,var/www}
  chmod 1777 "$d/tmp"
  chmod 700 "$d/root"
  cp /bin/busybox "$d/bin/busybox"
  # every applet where busybox itself would install it (bin/, sbin/, usr/bin/, ...)
  while read -r f; do
    f=${f#/}
    [ "$f" = bin/busybox ] || [ -e "$d/$f" ] || ln -s /bin/busybox "$d/$f"
  done < <(/bin/busybox --list-full)
  for a in "${REQUIRED[@]}"; do
    [ -e "$d/bin/$a" ] || [ -e "$d/sbin/$a" ] || [ -e "$d/usr/bin/$a" ] || [ -e "$d/usr/sbin/$a" ] \
      || die "busybox has no applet '$a'"
  done
  # Debian's static busybox 1.35 wget segfaults when given -T (timeout): replace the
  # applet link by a wrapper that turns -T N into busybox's `timeout N`.
  rm -f "$d/usr/bin/wget" "$d/bin/wget"
  cat > "$d/usr/bin/wget" <<'WGET'
#!/bin/sh
# wget wrapper (kuryr-ts lab): busybox 1.35-static segfaults on -T; emulate it.
t=
n=$#
i=0
while [ "$i" -lt "$n" ]; do
  a=$1; shift; i=$((i + 1))
  case $a in
    -T) t=$1; shift; i=$((i + 1)) ;;
    -T*) t=${a#-T} ;;
    --timeout=*) t=${a#--timeout=} ;;
    *) set -- "$@" "$a" ;;
  esac
done
if [ -n "$t" ]; then exec /bin/busybox timeout "$t" /bin/busybox wget "$@"; fi
exec /bin/busybox wget "$@"
WGET
  chmod 755 "$d/usr/bin/wget"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$d/etc/group"
  echo 'kuryr-ts lab' > "$d/var/www/index.html"
}

import() { # tag cmd-json
  make_rootfs
  log "building $1 (docker import, $(/bin/busybox | head -n1 | cut -d' ' -f1-2))"
  tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -c . \
    | docker import --change "CMD $2" --change 'LABEL org.opencontainers.image.vendor=kuryr-ts-lab' --change "LABEL kuryr-lab.image-version=$IMAGE_VERSION" - "$1" >/dev/null
}

built=0
for spec in "$BUSYBOX_IMG|[\"sh\"]" "$PAUSE_IMG|$PAUSE_CMD"; do
  tag=${spec%%|*} cmd=${spec#*|}
  if [ "$FORCE" = 0 ] && have_image "$tag"; then continue; fi
  import "$tag" "$cmd"
  built=1
done

if [ $built = 1 ] || [ $CHECK = 1 ]; then
  out=$(docker run --rm --net none "$BUSYBOX_IMG" sh -c 'ip link; ping -c1 127.0.0.1; echo ok' 2>&1) \
    || { echo "$out" >&2; die "check failed: docker run $BUSYBOX_IMG"; }
  [ "$(printf '%s\n' "$out" | tail -n1)" = ok ] || { echo "$out" >&2; die "check failed: no 'ok'"; }
  log "check passed: docker run --rm --net none $BUSYBOX_IMG (ip link, ping 127.0.0.1)"
  # the pause image must start, stay up and stop at once on SIGTERM
  cid=$(docker run -d --net none "$PAUSE_IMG")
  t0=$(date +%s)
  sleep 0.3
  [ "$(docker inspect -f '{{.State.Running}}' "$cid")" = true ] || { docker rm -f "$cid" >/dev/null; die "check failed: $PAUSE_IMG exited"; }
  docker stop -t 10 "$cid" >/dev/null
  code=$(docker inspect -f '{{.State.ExitCode}}' "$cid")
  docker rm "$cid" >/dev/null
  [ "$code" = 0 ] || die "check failed: $PAUSE_IMG exit code $code on SIGTERM"
  log "check passed: $PAUSE_IMG runs and stops on SIGTERM ($(( $(date +%s) - t0 ))s)"
fi
log "images: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^kuryr/(busybox|pause):' | tr '\n' ' ')"
