#!/usr/bin/env bash
# lab/engine.sh - the Docker Engines the lab can run (KURYR_LAB_DOCKER, see lib.sh):
#   20.10  bookworm's docker.io, installed by install.sh (/usr/sbin/dockerd, /usr/bin/docker)
#   26.1   trixie's docker.io + docker-cli           downloaded from Debian's archive with apt's
#   28.5   forky's (testing) docker.io + docker-cli  own tools, extracted into /opt/kuryr-lab/docker-<ver>
# All of them run with bookworm's containerd (1.6) and runc (1.1): the newer suites' runc needs
# a newer glibc than bookworm's.
#
# fetch [VER...]   (default: $KURYR_LAB_DOCKER, else 28.5) make /opt/kuryr-lab/docker-VER if it
#     is missing. Nothing is installed and the system's apt sources and state are not touched:
#     apt-get runs with a private sources list and private state/cache in
#     /var/lib/kuryr-lab/apt-<suite>; the list names the mirror(s) the system's own sources use
#     for bookworm, bookworm-updates and bookworm-security (read with `apt-get indextargets`),
#     with the suite's codename instead, main only, Signed-By Debian's archive keyring
#     (bookworm's debian-archive-keyring holds the 12/bookworm and 13/trixie archive keys that
#     sign trixie's and forky's Release files). Then
#     `apt-get update`, `apt-get download docker.io docker-cli` (apt checks them against the
#     signed Release file) and `dpkg-deb -x` into the prefix. The package version must start
#     with VER; VERSION in the prefix says what was taken from where. --refresh: check the
#     archive again and replace the prefix when the suite has a newer build.
# check [VER...]   (default: 26.1 28.5) start that engine in isolation - its own data root,
#     exec root, pid file and socket under /tmp, --bridge=none --iptables=false
#     --ip6tables=false, its own containerd (bookworm's, started by that dockerd) - then
#     `docker version`, `docker info`, `docker import` of a busybox-static rootfs and
#     `docker run --network none ... true`; stops it by pid and removes its directories. Never
#     touches the lab's dockerd. One line per step with its time; exit 1 when a step failed.
# status            the wanted engine, what the lab's dockerd runs, the fetched prefixes.
# running           the version (major.minor, e.g. 28.5) the lab's Docker answers with;
# version           the same in full (e.g. 28.5.2+dfsg4);
# wanted            the engine lab/up.sh would start (KURYR_LAB_DOCKER or the default);
# list              the engines the lab knows (20.10 26.1 28.5).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_NAME=engine

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# ------------------------------------------------------------------------ fetch
system_codename() { . /etc/os-release && echo "${VERSION_CODENAME:?}"; }

mirror_lines() { # suite -> one-line apt sources for it, from the system's own sources
  local sys site release suffix
  sys=$(system_codename)
  # shellcheck disable=SC2016  # $(SITE) and $(RELEASE) are apt's format fields
  apt-get indextargets --no-release-info --format '$(SITE) $(RELEASE)' 'Identifier: Packages' 'Target-Of: deb' \
    | sort -u | while read -r site release; do
      case $release in
        "$sys") suffix= ;;
        "$sys"-updates) suffix=-updates ;;
        "$sys"-security) suffix=-security ;;
        *) continue ;;
      esac
      echo "deb [signed-by=$KEYRING] $site $1$suffix main"
    done
}

apt_private() { # suite -> sets APT_DIR and APT_OPTS (apt-get/apt-cache options of the private copy)
  APT_DIR=$DATA/apt-$1
  mkdir -p "$APT_DIR/etc/parts" "$APT_DIR/state" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
  [ -f "$APT_DIR/status" ] || : > "$APT_DIR/status"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT_DIR/etc/sources.list"
    -o "Dir::Etc::SourceParts=$APT_DIR/etc/parts"
    -o "Dir::Etc::Preferences=$APT_DIR/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$APT_DIR/etc/parts"
    -o "Dir::State=$APT_DIR/state"
    -o "Dir::State::status=$APT_DIR/status"
    -o "Dir::Cache=$APT_DIR/cache"
    -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin
    -o Acquire::Languages=none
    -o APT::Get::List-Cleanup=true
  )
}

bytes() { numfmt --to=iec --suffix=B "$1" 2>/dev/null || echo "${1}B"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }

fetch_one() { # ver [refresh 0|1]
  local ver=$1 refresh=${2:-0} suite prefix cand pkgs=() p t0 t1 t2 t3 lists dl tmp old
  suite=$(docker_suite "$ver") || die "unknown engine '$ver' (${DOCKER_VERSIONS[*]})"
  if [ "$ver" = 20.10 ]; then
    [ -x /usr/sbin/dockerd ] || die "20.10 is bookworm's docker.io: run lab/install.sh"
    log "20.10: bookworm's docker.io ($(dpkg-query -W -f='${Version}' docker.io 2>/dev/null || echo '?')), /usr/sbin/dockerd"
    return 0
  fi
  prefix=$(engine_prefix "$ver")
  if [ "$refresh" = 0 ] && [ -x "$prefix/usr/sbin/dockerd" ] && [ -x "$prefix/usr/bin/docker" ] && [ -s "$prefix/VERSION" ]; then
    log "$ver: $prefix ($(awk '$1=="docker.io"{print $2}' "$prefix/VERSION")) already there"
    return 0
  fi
  [ -s "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"
  apt_private "$suite"
  mirror_lines "$suite" > "$APT_DIR/etc/sources.list.new"
  [ -s "$APT_DIR/etc/sources.list.new" ] || die "no Debian mirror for $(system_codename) in the system's apt sources"
  mv "$APT_DIR/etc/sources.list.new" "$APT_DIR/etc/sources.list"
  log "$ver: apt-get update ($suite; $(awk '{print $3 " " $4}' "$APT_DIR/etc/sources.list" | tr '\n' ' ')) in $APT_DIR"
  t0=$(now)
  apt-get "${APT_OPTS[@]}" -q update >"$APT_DIR/update.log" 2>&1 || { cat "$APT_DIR/update.log" >&2; die "$ver: apt-get update failed ($APT_DIR/update.log)"; }
  t1=$(now)
  lists=$(du -sb "$APT_DIR/state/lists" | cut -f1)
  cand=$(apt-cache "${APT_OPTS[@]}" policy docker.io | awk '$1=="Candidate:"{print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then die "$ver: $suite has no docker.io"; fi
  case $cand in
    "$ver".*) ;;
    *) die "$ver: $suite's docker.io is now $cand, not $ver.x; this engine is gone from Debian's archive (update lab/lib.sh's list)" ;;
  esac
  if [ "$refresh" = 1 ] && [ "$(awk '$1=="docker.io"{print $2}' "$prefix/VERSION" 2>/dev/null)" = "$cand" ]; then
    log "$ver: $prefix is $cand, the newest in $suite ($(secs "$t0" "$t1") s)"
    return 0
  fi
  pkgs=("docker.io=$cand")
  # trixie and later ship the client in docker-cli (same source package, same version)
  if apt-cache "${APT_OPTS[@]}" show "docker-cli=$cand" >/dev/null 2>&1; then pkgs+=("docker-cli=$cand"); fi
  rm -f "$APT_DIR"/debs/*.deb
  chown _apt "$APT_DIR/debs" 2>/dev/null || true # apt downloads as _apt when it can
  (cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" -q download "${pkgs[@]}") >"$APT_DIR/download.log" 2>&1 \
    || { cat "$APT_DIR/download.log" >&2; die "$ver: apt-get download failed"; }
  t2=$(now)
  dl=$(cat "$APT_DIR"/debs/*.deb | wc -c)
  tmp=$ENGINES_DIR/.docker-$ver.new
  rm -rf "$tmp"; mkdir -p "$tmp"
  for p in "$APT_DIR"/debs/*.deb; do dpkg-deb -x "$p" "$tmp"; done
  if [ ! -x "$tmp/usr/sbin/dockerd" ] || [ ! -x "$tmp/usr/bin/docker" ]; then die "$ver: no usr/sbin/dockerd or usr/bin/docker in ${pkgs[*]}"; fi
  # they must run here (glibc >= 2.34: bookworm has 2.36)
  "$tmp/usr/sbin/dockerd" --version >/dev/null || die "$ver: the extracted dockerd does not run on this machine"
  "$tmp/usr/bin/docker" --version >/dev/null || die "$ver: the extracted docker client does not run on this machine"
  {
    echo "# lab/engine.sh fetch $ver, $(date -u +%FT%TZ): apt-get download from Debian's archive (suite $suite)"
    for p in "$APT_DIR"/debs/*.deb; do
      echo "$(dpkg-deb -f "$p" Package) $(dpkg-deb -f "$p" Version) $(sha256sum "$p" | cut -d' ' -f1)"
    done
    sed 's/^/# source: /' "$APT_DIR/etc/sources.list"
  } > "$tmp/VERSION"
  old=
  if [ -e "$prefix" ]; then old=$ENGINES_DIR/.docker-$ver.old; rm -rf "$old"; mv "$prefix" "$old"; fi
  mv "$tmp" "$prefix"
  [ -z "$old" ] || rm -rf "$old" # a dockerd still running the old binary keeps its inode
  rm -f "$APT_DIR"/debs/*.deb
  t3=$(now)
  log "$ver: $prefix = ${pkgs[*]} ($("$prefix/usr/sbin/dockerd" --version)); update $(secs "$t0" "$t1") s (lists $(bytes "$lists")), download $(secs "$t1" "$t2") s ($(bytes "$dl")), extract $(secs "$t2" "$t3") s"
}

cmd_fetch() {
  local refresh=0 v vers=()
  for v in "$@"; do
    if [ "$v" = --refresh ]; then refresh=1; else vers+=("$v"); fi
  done
  [ ${#vers[@]} -gt 0 ] || vers=("$LAB_DOCKER")
  need_root
  mkdir -p "$ENGINES_DIR" "$DATA"
  exec 8>"$ENGINES_DIR/.fetch.lock"
  flock -w 600 8 || die "another lab/engine.sh fetch holds $ENGINES_DIR/.fetch.lock"
  for v in "${vers[@]}"; do fetch_one "$v" "$refresh"; done
}

# ------------------------------------------------------------------------ check
CHK_DIR='' CHK_PID='' CHK_VER=''
check_cleanup() { # stop the isolated dockerd by its pid (its containerd and shims with it), remove its dirs
  local pid kids p m
  if [ -n "$CHK_PID" ] && alive "$CHK_PID"; then
    kids=$(descendants "$CHK_PID" | tr '\n' ' ')
    local -A kidcmd=()
    for p in $kids; do kidcmd[$p]=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true); done
    kill -TERM "$CHK_PID" 2>/dev/null || true
    wait_gone "$CHK_PID" 20 || { warn "isolated dockerd $CHK_PID still alive after 20s: SIGKILL"; kill -KILL "$CHK_PID" 2>/dev/null || true; wait_gone "$CHK_PID" 5 || true; }
    for p in $kids; do
      wait_gone "$p" 5 && continue
      if [ "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true)" = "${kidcmd[$p]}" ]; then kill -KILL "$p" 2>/dev/null || true; fi
    done
  fi
  CHK_PID=
  if [ -n "$CHK_DIR" ] && [ -d "$CHK_DIR" ]; then
    mkdir -p "$LOGDIR"; cp "$CHK_DIR/dockerd.log" "$LOGDIR/engine-check-$CHK_VER.log" 2>/dev/null || true
    # never delete through a mount: unmount what the engine left under its dirs first
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$CHK_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    if awk -v d="$CHK_DIR/" 'index($5, d) == 1 {f=1} END{exit !f}' /proc/self/mountinfo; then
      warn "mounts left under $CHK_DIR: not removed"
    else
      rm -rf "$CHK_DIR"
    fi
  fi
  CHK_DIR=
}

check_one() { # ver -> 0 when every step passed
  local ver=$1 dockerd cli sock d t0 t1 out rc=0 rootfs
  dockerd=$(engine_dockerd "$ver"); cli=$(engine_cli "$ver")
  [ -x "$dockerd" ] || die "$ver: $dockerd missing (lab/engine.sh fetch $ver)"
  CHK_DIR=$(mktemp -d "/tmp/kuryr-engine-$ver.XXXXXX"); CHK_VER=$ver
  d=$CHK_DIR; sock=$d/docker.sock
  mkdir -p "$d/data" "$d/exec" "$d/etc"
  echo '{}' > "$d/etc/daemon.json"
  step() { printf '%-7s %-34s %6s s  %s\n' "$ver" "$1" "$2" "$3"; }
  t0=$(now)
  # spawn: own session, pid file written by the process itself; dockerd's own --pidfile differs
  spawn "$d/spawn.pid" "$d/dockerd.log" env PATH="$(engine_path "$ver")" "$dockerd" \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" -H "unix://$sock" \
    --config-file "$d/etc/daemon.json" --bridge=none --iptables=false --ip6tables=false \
    --ip-masq=false --ip-forward=false --log-level=info || { step "dockerd start" - FAILED; return 1; }
  CHK_PID=$(pid_of "$d/spawn.pid")
  if ! wait_for 60 "isolated dockerd $ver" sh -c "[ \"\$(curl -s -m 2 --unix-socket '$sock' http://localhost/_ping)\" = OK ]"; then
    step "dockerd start" - "FAILED (log: $LOGDIR/engine-check-$ver.log)"; tail -20 "$d/dockerd.log" >&2; return 1
  fi
  t1=$(now); step "dockerd start (API answers)" "$(secs "$t0" "$t1")" "pid $CHK_PID, $("$dockerd" --version)"
  DK=("$cli" -H "unix://$sock")
  t0=$(now)
  if out=$("${DK[@]}" version --format 'client {{.Client.Version}} (API {{.Client.APIVersion}}), server {{.Server.Version}} (API {{.Server.APIVersion}}, min {{.Server.MinAPIVersion}})' 2>&1); then
    step "docker version" "$(secs "$t0" "$(now)")" "$out"
  else step "docker version" - "FAILED: $out"; rc=1; fi
  t0=$(now)
  if out=$("${DK[@]}" info --format 'containerd {{.ContainerdCommit.ID}}, runc {{.RuncCommit.ID}}, storage {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}, kernel {{.KernelVersion}}, warnings {{len .Warnings}}' 2>&1); then
    step "docker info" "$(secs "$t0" "$(now)")" "$out"
  else step "docker info" - "FAILED: $out"; rc=1; fi
  t0=$(now)
  rootfs=$d/rootfs
  mkdir -p "$rootfs/bin"
  cp /bin/busybox "$rootfs/bin/busybox"
  ln -s busybox "$rootfs/bin/true"; ln -s busybox "$rootfs/bin/sh"
  if out=$(tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | "${DK[@]}" import - kuryr-engine-check:latest 2>&1); then
    step "docker import (busybox-static)" "$(secs "$t0" "$(now)")" "${out:0:19}"
    t0=$(now)
    if out=$("${DK[@]}" run --rm --network none kuryr-engine-check:latest true 2>&1); then
      step "docker run --network none ... true" "$(secs "$t0" "$(now)")" "ok"
    else step "docker run --network none ... true" - "FAILED: $out"; rc=1; fi
    t0=$(now)
    # shellcheck disable=SC2016  # expanded by the container's shell
    if out=$("${DK[@]}" run --rm --network none kuryr-engine-check:latest sh -c 'echo $((6*7))' 2>&1) && [ "$out" = 42 ]; then
      step "docker run ... sh -c (output)" "$(secs "$t0" "$(now)")" "ok"
    else step "docker run ... sh -c (output)" - "FAILED: $out"; rc=1; fi
  else
    step "docker import (busybox-static)" - "FAILED: $out"; rc=1
  fi
  t0=$(now)
  check_cleanup
  step "stop by pid + remove dirs" "$(secs "$t0" "$(now)")" "log: $LOGDIR/engine-check-$ver.log"
  return $rc
}

cmd_check() {
  local v vers=("$@") rc=0
  [ ${#vers[@]} -gt 0 ] || vers=(26.1 28.5)
  need_root
  [ -x /bin/busybox ] || die "/bin/busybox missing (busybox-static, see install.sh)"
  trap check_cleanup EXIT
  for v in "${vers[@]}"; do
    [ -x "$(engine_dockerd "$v")" ] || cmd_fetch "$v"
    check_one "$v" || { rc=1; check_cleanup; }
  done
  return $rc
}

# ----------------------------------------------------------------------- status
cmd_running() { docker_version "$DOCKER_SOCK" | engine_minor; }

cmd_status() {
  local v prefix running pid
  echo "wanted: $LAB_DOCKER (KURYR_LAB_DOCKER=${KURYR_LAB_DOCKER:-unset}, default $DOCKER_DEFAULT)"
  running=$(docker_version "$DOCKER_SOCK")
  if [ -n "$running" ]; then
    if pid=$(pid_of "$DOCKERD_PID") && our_dockerd_running; then
      echo "running: Docker $running, started by the lab (pid $pid, $(readlink "/proc/$pid/exe" 2>/dev/null || echo '?'))"
    else echo "running: Docker $running, not started by the lab"; fi
  else echo "running: no Docker answering on $DOCKER_SOCK"; fi
  [ ! -s "$ENGINE_FILE" ] || echo "recorded ($ENGINE_FILE): $(cat "$ENGINE_FILE")"
  echo "client: $(readlink "$CLI_DIR/docker" 2>/dev/null || echo "none in $CLI_DIR") ($(docker --version 2>/dev/null || echo '?'))"
  for v in "${DOCKER_VERSIONS[@]}"; do
    prefix=$(engine_prefix "$v")
    if [ -z "$prefix" ]; then echo "engine 20.10: /usr/sbin/dockerd (bookworm docker.io $(dpkg-query -W -f='${Version}' docker.io 2>/dev/null || echo 'not installed'))"
    elif [ -s "$prefix/VERSION" ]; then echo "engine $v: $prefix ($(awk '!/^#/{printf "%s %s  ", $1, $2}' "$prefix/VERSION"))"
    else echo "engine $v: not fetched (lab/engine.sh fetch $v)"; fi
  done
}

case "${1:-}" in
  fetch) shift; cmd_fetch "$@" ;;
  check) shift; cmd_check "$@" ;;
  status) cmd_status ;;
  running) cmd_running ;;
  version) docker_version "$DOCKER_SOCK" ;;
  wanted) engine_check_choice; echo "$LAB_DOCKER" ;;
  list) echo "${DOCKER_VERSIONS[*]}" ;;
  *) echo "usage: $0 fetch [--refresh] [VER...] | check [VER...] | status | running | version | wanted | list" >&2; exit 2 ;;
esac
