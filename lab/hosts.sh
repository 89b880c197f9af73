#!/usr/bin/env bash
# lab/hosts.sh up N | down | status | list - the multi-host lab: N extra Docker hosts
# ("host1" .. "hostN"), each a Neutron compute host of its own, on this machine.
# Adapted from ../shared/reference/multihost-lab (see docs/multihost.md).
#
# Each host H lives in its own network namespace (kuryr-H), mount namespace and
# UTS namespace (hostname H) and has:
#   - its own Open vSwitch (ovsdb-server + ovs-vswitchd, userspace/netdev
#     datapath): br-int, and br-phy holding the underlay port ul0 and the
#     tunnel address 192.168.254.<i>/24 (the address lives on br-phy: OVS
#     userspace tunnelling needs it there);
#   - its own ovn-controller: an OVN chassis named H (external_ids:hostname) in
#     the central SB DB, OVN transport zone "kuryr-lab-hosts", so that only the
#     lab hosts build Geneve tunnels to each other and the main chassis (whose
#     OVS has no transport zone) is not touched at all;
#   - its own Docker Engine, the main lab's (KURYR_LAB_DOCKER if set, else what
#     /run/kuryr-lab/docker-engine says the main dockerd runs, else 28.5): data root
#     /var/lib/kuryr-lab/H/docker (20.10) or .../H/docker-<ver>, exec root
#     and plugin dir = its private /run/docker, its private /etc/docker, API
#     socket /run/kuryr-lab/H/docker.sock (docker -H unix:///run/kuryr-lab/H/docker.sock ...);
#   - its own kuryr daemon (packages/kuryr/bin/kuryr.js daemon, run inside the namespaces,
#     plugin socket = its private /run/docker/plugins/kuryr.sock, so that its
#     Docker finds only it), with the lab's kuryr.conf plus
#     /etc/kuryr-lab/H/kuryr.conf ([binding] host_id = H, [DEFAULT] docker_host = its Docker);
#   - a loopback relay (lab/netns-relay.py) that serves 127.0.0.1:5000 and
#     127.0.0.1:9696 inside the host's netns from Keystone and neutron-server on
#     the root netns' loopback: the host's daemon uses the main lab's very URLs
#     (auth_url and the catalog's Neutron endpoint).
# The underlay: one veth per host (ul0 in the host, sw-H in the namespace
# kuryr-ul), joined by a Linux bridge "ul" in kuryr-ul (no address). Every
# address is inside these lab namespaces; the root netns gets no address, no
# route and no new OVS bridge.
#
# up N (2..8): starts what is missing, records each start in
#   /run/kuryr-lab/hosts.started ("<host> <kind> <args>", start order); waits
#   until Neutron lists each host as an alive "OVN Controller agent", Docker
#   and kuryr answer; loads kuryr/busybox and kuryr/pause from the main Docker.
#   A host's kuryr daemon is restarted when the build or the lab's kuryr.conf is
#   newer than it, its dockerd (by pid) when it runs another engine than the
#   wanted one. Hosts beyond N that already run are left alone.
# down: removes the hosts' containers and kuryr networks (while their kuryr
#   daemons still run, so that Neutron ports are deleted), then stops exactly
#   what hosts.started lists, in reverse order, by pid file (dockerd, kuryr,
#   relay: SIGTERM, SIGKILL after 20 s; ovn-controller: graceful exit, which
#   deletes its chassis; OVS: exit), deletes the hosts' Neutron agents, the
#   mount/UTS namespaces, the netns (with their veths).
# status: one line per host and component; exit 1 if a recorded host is not
#   fully up.
# list: "<host> unix:///run/kuryr-lab/<host>/docker.sock <tunnel address>" per
#   running host (for tools that need the hosts, e.g. a container service).
# A host process that died (or was killed to simulate a host failure) is
# started again by the next `up N`.
# Called by up.sh --hosts N, down.sh and status.sh (they hold the lab lock and
# set KURYR_LAB_LOCK_HELD=1); standalone it takes /run/kuryr-lab/lock itself.
# Needs the main lab up (OVN SB/NB, Keystone, neutron-server, Docker, kuryr.conf).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_NAME=hosts
# the hosts run the main lab's engine unless KURYR_LAB_DOCKER says otherwise
if [ -z "${KURYR_LAB_DOCKER:-}" ] && [ -s "$ENGINE_FILE" ] && docker_suite "$(awk '{print $1}' "$ENGINE_FILE")" >/dev/null; then
  LAB_DOCKER=$(awk '{print $1}' "$ENGINE_FILE")
  DOCKERD=$(engine_dockerd "$LAB_DOCKER")
fi

NS_DIR=$RUN/ns                      # mount/UTS namespace files (a private bind mount)
H_STARTED=$RUN/hosts.started
UL_NS=kuryr-ul                      # underlay switch namespace (bridge "ul")
TZ_NAME=kuryr-lab-hosts             # OVN transport zone of the lab hosts
UL_PREFIX=192.168.254               # host i: $UL_PREFIX.i/24 on its br-phy (inside its netns)
MAX_HOSTS=8
SB_SOCK=$OVN_RUN/ovnsb_db.sock
NB_SOCK=$OVN_RUN/ovnnb_db.sock
RELAY=$LAB_DIR/netns-relay.py

netns_of() { echo "kuryr-$1"; }
hrun() { echo "$RUN/$1"; }          # runtime dir: docker.sock, pid files, private /run binds
hx() { # host command... : run a command "on" a host (its net + mount + uts namespaces)
  local h=$1; shift
  nsenter --mount="$NS_DIR/$h.mnt" --uts="$NS_DIR/$h.uts" --net="/run/netns/$(netns_of "$h")" -- "$@"
}
hrecord() { mkdir -p "$RUN"; touch "$H_STARTED"; grep -qxF -- "$*" "$H_STARTED" || echo "$*" >> "$H_STARTED"; }
recorded_hosts() { [ -f "$H_STARTED" ] && awk '$2=="netns" && $1!="-"{print $1}' "$H_STARTED" || true; }
host_docker() { local h=$1; shift; docker -H "unix://$(hrun "$h")/docker.sock" "$@"; }
host_docker_ok() { [ "$(curl -s -m 5 --unix-socket "$(hrun "$1")/docker.sock" http://localhost/_ping 2>/dev/null)" = OK ]; }
host_plugin_sock() { echo "$(hrun "$1")/run-docker/plugins/kuryr.sock"; }
host_kuryr_ok() { curl -s -m 3 --unix-socket "$(host_plugin_sock "$1")" -X POST http://plugin/Plugin.Activate 2>/dev/null | grep -q NetworkDriver; }
host_mntns_ok() { [ -f "$NS_DIR/$1.mnt" ] && nsenter --mount="$NS_DIR/$1.mnt" true 2>/dev/null; }
ovs_pid_ok() { pid_alive "$1" "$2"; } # pidfile name
sysid_of() { cat "$DATA/$1/system-id" 2>/dev/null; }
agent_ids() { # host -> ids of its Neutron OVN agents
  ensure_lab_token >/dev/null 2>&1 || return 0
  ncurl -m 10 "$API/agents?host=$1" | jq -r '.agents[]?.id' 2>/dev/null || true
}

lock() {
  [ "${KURYR_LAB_LOCK_HELD:-0}" = 1 ] && return 0
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock -w 600 9 || die "another lab script holds $RUN/lock"
}

# ---------------------------------------------------------------------------- up
up_host_namespaces() { # host index
  local h=$1 i=$2 ns R
  ns=$(netns_of "$h"); R=$(hrun "$h")
  if [ ! -e "/run/netns/$ns" ]; then
    hrecord "$h netns $ns"
    ip netns add "$ns"
  fi
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" link show ul0 >/dev/null 2>&1; then
    ip -n "$UL_NS" link del "sw-$h" 2>/dev/null || true
    ip -n "$UL_NS" link add "sw-$h" type veth peer name ul0 netns "$ns"
    ip -n "$UL_NS" link set "sw-$h" master ul up
  fi
  ip -n "$ns" link set ul0 up
  mkdir -p "$R/ovs" "$R/ovn" "$R/central-ovn" "$R/run-docker/plugins" "$DATA/$h" "$ETC/$h/etc-docker/plugins" "$LOGDIR/$h"
  [ -f "$ETC/$h/etc-docker/daemon.json" ] || echo '{}' > "$ETC/$h/etc-docker/daemon.json"
  mkdir -p /run/openvswitch /run/ovn /run/docker /etc/docker
  if ! host_mntns_ok "$h"; then
    touch "$NS_DIR/$h.mnt" "$NS_DIR/$h.uts"
    hrecord "$h mntns"
    # slave: netns added later in the root ns (/run/netns is shared) still show up inside
    unshare --mount="$NS_DIR/$h.mnt" --uts="$NS_DIR/$h.uts" --propagation slave hostname "$h"
    # Inside: drop the copied nsfs mounts but /run/netns/* (copies of the main dockerd's
    # /run/docker/netns/* would keep its containers' namespaces alive), then private
    # run dirs over the defaults, so that plain ovs-vsctl, ovn-appctl, dockerd and
    # kuryr find this host's own daemons. The central SB socket stays reachable under
    # $R/central-ovn (a bind of the directory survives an SB restart).
    # shellcheck disable=SC2016  # $i, $5 are awk's
    nsenter --mount="$NS_DIR/$h.mnt" --net="/run/netns/$ns" -- sh -ec "
      awk '{for(i=7;i<=NF;i++) if(\$i==\"-\"){fs=\$(i+1);break}; if(fs==\"nsfs\" && \$5 !~ /^\/run\/netns\//) print \$5}' /proc/self/mountinfo | xargs -r -n1 umount -l
      umount -l '$NS_DIR' 2>/dev/null || true
      mount --bind '$OVN_RUN' '$R/central-ovn'
      mount --bind '$R/ovs' /run/openvswitch
      mount --bind '$R/ovn' /run/ovn
      mount --bind '$R/run-docker' /run/docker
      mount --bind '$ETC/$h/etc-docker' /etc/docker
    "
  fi
  : "$i"
}

up_host_ovs() { # host index
  local h=$1 i=$2 R db sysid
  R=$(hrun "$h"); db=$DATA/$h/conf.db
  [ -s "$DATA/$h/system-id" ] || cat /proc/sys/kernel/random/uuid > "$DATA/$h/system-id"
  sysid=$(sysid_of "$h")
  [ -f "$db" ] || ovsdb-tool create "$db" /usr/share/openvswitch/vswitch.ovsschema
  if ! ovs_pid_ok "$R/ovs/ovsdb-server.pid" ovsdb-server; then
    hrecord "$h ovs $R/ovs/ovsdb-server.pid ovsdb-server"
    hx "$h" ovsdb-server "$db" --remote=punix:/run/openvswitch/db.sock --pidfile=/run/openvswitch/ovsdb-server.pid \
      --detach --no-chdir --log-file="$LOGDIR/$h/ovsdb-server.log" -vconsole:off -vfile:info 9>&- 2>>"$LOGDIR/$h/start.log"
    hx "$h" ovs-vsctl --no-wait init
  fi
  hx "$h" ovs-vsctl --no-wait set Open_vSwitch . external_ids:system-id="$sysid" external_ids:hostname="$h" \
    external_ids:rundir=/var/run/openvswitch
  if ! ovs_pid_ok "$R/ovs/ovs-vswitchd.pid" ovs-vswitchd; then
    hrecord "$h ovs $R/ovs/ovs-vswitchd.pid ovs-vswitchd"
    hx "$h" ovs-vswitchd unix:/run/openvswitch/db.sock --pidfile=/run/openvswitch/ovs-vswitchd.pid \
      --detach --no-chdir --log-file="$LOGDIR/$h/ovs-vswitchd.log" -vconsole:off -vfile:info 9>&- 2>>"$LOGDIR/$h/start.log"
  fi
  # the tunnel endpoint address must be on a netdev bridge (userspace tunnelling), ul0 a port of it
  hx "$h" ovs-vsctl --timeout=10 --may-exist add-br br-phy -- set bridge br-phy datapath_type=netdev \
    -- --may-exist add-port br-phy ul0
  hx "$h" ip link set br-phy up
  hx "$h" ip addr replace "$UL_PREFIX.$i/24" dev br-phy
  hx "$h" ovs-vsctl --timeout=10 --may-exist add-br br-int -- set bridge br-int datapath_type=netdev fail_mode=secure
  hx "$h" ovs-vsctl --timeout=10 set Open_vSwitch . \
    external_ids:ovn-remote="unix:$R/central-ovn/ovnsb_db.sock" \
    external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip="$UL_PREFIX.$i" \
    external_ids:ovn-bridge=br-int external_ids:ovn-bridge-datapath-type=netdev \
    external_ids:ovn-transport-zones="$TZ_NAME"
  if ! pid_alive "$R/ovn/ovn-controller.pid" ovn-controller; then
    # recorded before the controller: down deletes the Neutron agent after stopping it
    hrecord "$h agent"
    hrecord "$h ovn $R/ovn/ovn-controller.pid ovn-controller"
    hx "$h" ovn-controller unix:/run/openvswitch/db.sock --pidfile=/run/ovn/ovn-controller.pid \
      --detach --no-chdir --log-file="$LOGDIR/$h/ovn-controller.log" -vconsole:off -vfile:info 9>&- 2>>"$LOGDIR/$h/start.log"
  fi
}

image_id() { local img=$1; shift; "$@" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true; }

up_host_services() { # host
  local h=$1 R ns conf pf
  R=$(hrun "$h"); ns=$(netns_of "$h"); conf=$ETC/$h/kuryr.conf
  # loopback relay: Keystone + Neutron inside the host
  pf=$R/relay.pid
  if ! pid_alive "$pf" netns-relay; then
    hrecord "$h daemon $pf netns-relay"
    spawn "$pf" "$LOGDIR/$h/relay.log" /usr/bin/python3 "$RELAY" "/run/netns/$ns" "$KS_PORT" "$API_PORT" \
      || die "$h: relay did not start"
  fi
  # kuryr daemon: the lab's kuryr.conf (auth) + this host's binding host id and Docker (reconciliation
  # asks the Docker of its own host which endpoints exist)
  { echo "# generated by lab/hosts.sh: read after /etc/kuryr-lab/kuryr.conf (Neutron and Keystone"
    echo "# through lab/netns-relay.py at the same 127.0.0.1 URLs) by $h's kuryr daemon"
    printf '[DEFAULT]\ndocker_host = unix://%s/docker.sock\n\n[binding]\nhost_id = %s\n' "$R" "$h"; } | replace_if_changed "$conf" || true
  pf=$R/kuryr.pid
  if pid_alive "$pf" kuryr.js && { [ "$REPO_DIR/packages/kuryr/dist/src/main/kuryr-cli.js" -nt "$pf" ] || [ "$ETC/kuryr.conf" -nt "$pf" ] || [ "$conf" -nt "$pf" ]; }; then
    log "$h: build or kuryr.conf newer than the kuryr daemon: restarting it"
    stop_pid_group "$h kuryr" "$pf" kuryr.js
  fi
  if ! pid_alive "$pf" kuryr.js; then
    hrecord "$h daemon $pf kuryr.js"
    rm -f "$(host_plugin_sock "$h")"
    spawn "$pf" "$LOGDIR/$h/kuryr.log" nsenter --mount="$NS_DIR/$h.mnt" --uts="$NS_DIR/$h.uts" --net="/run/netns/$ns" -- \
      node $KURYR_NODE_FLAGS "$REPO_DIR/packages/kuryr/bin/kuryr.js" daemon --config-file "$ETC/kuryr.conf" --config-file "$conf" \
      || die "$h: kuryr daemon did not start"
  fi
  # Docker Engine (its own --pidfile must differ from spawn's, or dockerd refuses to start);
  # one that runs another engine's binary is stopped first (its containers stop with it)
  pf=$R/dockerd.pid
  if pid_alive "$pf" dockerd && [ "$(engine_of_pid "$(pid_of "$pf")")" != "$LAB_DOCKER" ]; then
    log "$h: dockerd runs Docker $(docker_version "$R/docker.sock"), the lab wants $LAB_DOCKER: restarting it"
    stop_dockerd_tree "$h" "$pf"
  fi
  if ! pid_alive "$pf" dockerd; then
    hrecord "$h dockerd $pf"
    spawn "$pf" "$LOGDIR/$h/dockerd.log" nsenter --mount="$NS_DIR/$h.mnt" --uts="$NS_DIR/$h.uts" --net="/run/netns/$ns" -- \
      env PATH="$(engine_path "$LAB_DOCKER")" \
      "$DOCKERD" --data-root="$(engine_data_root "$LAB_DOCKER" "$DATA/$h")" --exec-root=/run/docker -H "unix://$R/docker.sock" \
      --pidfile="$R/docker-engine.pid" --config-file=/etc/docker/daemon.json \
      --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
      --cgroup-parent="/kuryr-lab-$h" --log-level=warn || die "$h: dockerd did not start"
  fi
}

wait_host_services() { # host
  local h=$1 R img
  R=$(hrun "$h")
  wait_for 30 "$h: kuryr daemon" host_kuryr_ok "$h" || { tail -20 "$LOGDIR/$h/kuryr.log" >&2; die "$h: kuryr daemon not answering"; }
  wait_for 60 "$h: Docker on $R/docker.sock" host_docker_ok "$h" || { tail -20 "$LOGDIR/$h/dockerd.log" >&2; die "$h: dockerd not answering"; }
  for img in kuryr/busybox:latest kuryr/pause:latest; do
    local main_id
    main_id=$(image_id "$img" docker)
    [ -n "$main_id" ] || { warn "image $img missing in the main Docker (lab/images.sh)"; continue; }
    if [ "$(image_id "$img" host_docker "$h")" != "$main_id" ]; then
      docker save "$img" | host_docker "$h" load >/dev/null
      log "$h: loaded $img"
    fi
  done
}

cmd_up() {
  local n=${1:-2} i h hosts=()
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le $MAX_HOSTS ] || die "usage: hosts.sh up N (2..$MAX_HOSTS)"
  need_root
  engine_check_choice
  lock
  [ -S "$SB_SOCK" ] || die "no OVN SB DB at $SB_SOCK: run lab/up.sh first"
  # a busy Neutron can take more than one 5 s try to answer
  wait_for 60 "the Neutron API" neutron_api_ok || die "Neutron API not answering at $API: run lab/up.sh first"
  docker_ok || die "the main Docker is not answering: run lab/up.sh first"
  [ -f "$ETC/kuryr.conf" ] || die "$ETC/kuryr.conf missing: run lab/up.sh (lab/kuryr.sh start) first"
  [ -f "$REPO_DIR/packages/kuryr/dist/src/main/kuryr-cli.js" ] || (cd "$REPO_DIR" && npm run --silent build)
  [ -x "$DOCKERD" ] || bash "$LAB_DIR/engine.sh" fetch "$LAB_DOCKER" 9>&- || die "Docker $LAB_DOCKER: lab/engine.sh fetch failed"
  for c in nsenter unshare ip ovsdb-server ovs-vswitchd ovn-controller "$DOCKERD" /usr/bin/python3 node; do
    command -v "$c" >/dev/null 2>&1 || die "$c not found"
  done
  mkdir -p "$RUN" "$NS_DIR" "$LOGDIR" "$DATA"
  touch "$H_STARTED"
  for ((i = 1; i <= n; i++)); do hosts+=("host$i"); done
  log "up: ${hosts[*]} (underlay $UL_PREFIX.0/24 inside the lab's namespaces, OVN transport zone $TZ_NAME, Docker $LAB_DOCKER)"
  # unshare --mount=FILE needs FILE on a mount with private propagation
  if ! mountpoint -q "$NS_DIR"; then
    hrecord "- mount $NS_DIR"
    mount --bind "$NS_DIR" "$NS_DIR"
    mount --make-private "$NS_DIR"
  fi
  if [ ! -e "/run/netns/$UL_NS" ]; then
    hrecord "- netns $UL_NS"
    ip netns add "$UL_NS"
  fi
  ip -n "$UL_NS" link show ul >/dev/null 2>&1 || ip -n "$UL_NS" link add ul type bridge forward_delay 0 stp_state 0
  ip -n "$UL_NS" link set ul up
  for ((i = 1; i <= n; i++)); do
    h=host$i
    up_host_namespaces "$h" "$i"
    up_host_ovs "$h" "$i"
  done
  log "OVS + ovn-controller running in ${hosts[*]}"
  # Neutron calls an OVN agent alive when its Chassis_Private.nb_cfg caught up with
  # NB_Global.nb_cfg; a new chassis otherwise waits for Neutron's periodic bump
  # (10-25 s). Once the chassis are registered, one --wait=hv sync does that bump.
  for h in "${hosts[@]}"; do
    wait_for 20 "$h: Chassis_Private row" sh -c "ovn-sbctl --db=unix:$SB_SOCK --timeout=5 --bare --columns=name find Chassis_Private name=$(sysid_of "$h") | grep -q ." || true
  done
  ovn-nbctl --db="unix:$NB_SOCK" --timeout=20 --wait=hv sync || warn "ovn-nbctl --wait=hv sync did not finish (a stale chassis?)"
  for h in "${hosts[@]}"; do
    wait_for 60 "$h: alive OVN Controller agent in Neutron" ovn_agent_alive "$h" || die "$h: no alive OVN Controller agent in Neutron (see $LOGDIR/$h/ovn-controller.log)"
  done
  log "Neutron lists ${hosts[*]} as alive OVN Controller agents"
  for h in "${hosts[@]}"; do up_host_services "$h"; done
  for h in "${hosts[@]}"; do wait_host_services "$h"; done
  for h in "${hosts[@]}"; do
    log "$h: docker -H unix://$(hrun "$h")/docker.sock  (kuryr binding host id $h, underlay $UL_PREFIX.${h#host})"
  done
  log "up: done"
}

# -------------------------------------------------------------------------- down
stop_dockerd_tree() { # host pidfile
  local h=$1 pf=$2 pid kids p
  pid=$(pid_of "$pf") || { rm -f "$pf"; return 0; }
  pid_alive "$pf" dockerd || { rm -f "$pf"; return 0; }
  kids=$(descendants "$pid" | tr '\n' ' ')
  local -A kidcmd=()
  for p in $kids; do kidcmd[$p]=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true); done
  log "$h: stopping dockerd (pid $pid; descendants: ${kids:-none})"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 20; then warn "$h: dockerd still alive after 20s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 5 || true; fi
  for p in $kids; do
    wait_gone "$p" 5 && continue
    if [ "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true)" = "${kidcmd[$p]}" ]; then
      warn "$h: killing leftover pid $p (${kidcmd[$p]})"; kill -KILL "$p" 2>/dev/null || true
    fi
  done
  rm -f "$pf"
}

clean_host_docker() { # host: containers and kuryr networks, while kuryr still runs
  local h=$1 ids nets
  host_docker_ok "$h" || return 0
  ids=$(host_docker "$h" ps -aq 2>/dev/null | tr '\n' ' ')
  if [ -n "${ids// /}" ]; then
    log "$h: removing containers: $ids"
    # shellcheck disable=SC2086
    host_docker "$h" rm -f $ids >/dev/null 2>&1 || warn "$h: docker rm -f failed"
  fi
  nets=$(host_docker "$h" network ls -q --filter driver=kuryr 2>/dev/null | tr '\n' ' ')
  if [ -n "${nets// /}" ]; then
    log "$h: removing kuryr networks: $nets"
    # shellcheck disable=SC2086
    host_docker "$h" network rm $nets >/dev/null 2>&1 || warn "$h: docker network rm failed"
  fi
}

stop_ovs_daemon() { # host pidfile name (ovs|ovn)
  local h=$1 pf=$2 name=$3 kind=$4 pid appctl=ovs-appctl
  [ "$kind" = ovn ] && appctl=ovn-appctl
  if pid=$(pid_of "$pf") && pid_alive "$pf" "$name"; then
    log "$h: stopping $name (pid $pid)"
    # ovn-controller's graceful exit deletes its Chassis/Encap rows from the SB DB
    "$appctl" -t "$(dirname "$pf")/$name.$pid.ctl" exit >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 || { warn "$h: $name still alive: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$pf"
}

delete_agent() { # host: the chassis (if its controller could not remove it) and Neutron's agent row
  local h=$1 sysid id
  sysid=$(sysid_of "$h") || true
  if [ -n "$sysid" ] && ovn-sbctl --db="unix:$SB_SOCK" --timeout=5 --bare --columns=name find Chassis name="$sysid" 2>/dev/null | grep -q .; then
    ovn-sbctl --db="unix:$SB_SOCK" --timeout=5 chassis-del "$sysid" && log "$h: chassis-del $sysid"
  fi
  # Neutron keeps a dead OVN agent in its cache after the chassis is gone
  for id in $(agent_ids "$h"); do
    [ "$(ncurl -m 10 -o /dev/null -w '%{http_code}' -X DELETE "$API/agents/$id")" = 204 ] && log "$h: deleted Neutron agent $id"
  done
}

cmd_down() {
  need_root
  lock
  [ -s "$H_STARTED" ] || { log "nothing recorded in $H_STARTED: nothing to stop"; return 0; }
  local h kind a b line
  ensure_lab_token || true
  # containers and kuryr networks first, while every host's kuryr daemon still runs
  for h in $(recorded_hosts); do clean_host_docker "$h"; done
  while read -r h kind a b <&3; do
    [ -n "$kind" ] || continue
    case $kind in
      dockerd) stop_dockerd_tree "$h" "$a" ;;
      daemon) stop_pid_group "$h $(basename "$a" .pid)" "$a" "$b" ;;
      ovs) stop_ovs_daemon "$h" "$a" "$b" ovs ;;
      ovn) stop_ovs_daemon "$h" "$a" "$b" ovn ;;
      agent) delete_agent "$h" ;;
      mntns)
        umount "$NS_DIR/$h.mnt" "$NS_DIR/$h.uts" 2>/dev/null || true
        rm -f "$NS_DIR/$h.mnt" "$NS_DIR/$h.uts"; log "$h: released its mount and UTS namespaces" ;;
      netns) ip netns del "$a" 2>/dev/null && log "deleted netns $a" || true ;;
      mount) umount "$a" 2>/dev/null && log "unmounted $a" || true ;;
      *) warn "unknown record: $h $kind $a $b" ;;
    esac
    line="$h $kind${a:+ $a}${b:+ $b}"
    grep -vxF -- "$line" "$H_STARTED" > "$H_STARTED.tmp" || true
    mv "$H_STARTED.tmp" "$H_STARTED"
  done 3< <(tac "$H_STARTED")
  [ -s "$H_STARTED" ] || rm -f "$H_STARTED"
  log "down: done"
}

# ------------------------------------------------------------------------ status
cmd_status() {
  local h rc=0 R st
  local hosts
  hosts=$(recorded_hosts)
  if [ -z "$hosts" ]; then echo "hosts: none (lab/hosts.sh up N, or npm run lab:up -- --hosts N)"; return 0; fi
  printf '%-7s %-15s %-8s %-8s %s\n' HOST COMPONENT STATE PID WHERE
  for h in $hosts; do
    R=$(hrun "$h")
    while read -r name pf sub where; do
      if pid_alive "$pf" "$sub"; then st=running; else st=DOWN; rc=1; fi
      printf '%-7s %-15s %-8s %-8s %s\n' "$h" "$name" "$st" "$(pid_of "$pf" 2>/dev/null || echo -)" "$where"
    done <<LIST
ovsdb-server $R/ovs/ovsdb-server.pid ovsdb-server $LOGDIR/$h/ovsdb-server.log
ovs-vswitchd $R/ovs/ovs-vswitchd.pid ovs-vswitchd $LOGDIR/$h/ovs-vswitchd.log
ovn-controller $R/ovn/ovn-controller.pid ovn-controller chassis $h, encap $UL_PREFIX.${h#host}
relay $R/relay.pid netns-relay 127.0.0.1:$KS_PORT,$API_PORT
kuryr $R/kuryr.pid kuryr.js $(host_plugin_sock "$h")
dockerd $R/dockerd.pid dockerd unix://$R/docker.sock
LIST
    local agent=NOT-ALIVE docker=NOT-answering kuryr=NOT-answering
    if ovn_agent_alive "$h"; then agent=alive; else rc=1; fi
    if host_docker_ok "$h"; then docker="ok ($(docker_version "$R/docker.sock"))"; else rc=1; fi
    if host_kuryr_ok "$h"; then kuryr=ok; else rc=1; fi
    echo "$h: OVN Controller agent $agent; docker $docker; kuryr $kuryr"
  done
  return $rc
}

cmd_list() { # one line per recorded host: name (= binding host id = chassis), Docker API, tunnel address
  local h
  for h in $(recorded_hosts); do echo "$h unix://$(hrun "$h")/docker.sock $UL_PREFIX.${h#host}"; done
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  list) cmd_list ;;
  *) echo "usage: $0 up N | down | status | list" >&2; exit 2 ;;
esac
