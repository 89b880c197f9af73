#!/usr/bin/env bash
# lab/up.sh - bring the kuryr-ts lab up on this host, without systemd:
#   install.sh (packages + config, no-op when done), then, each only if it is not
#   already running: PostgreSQL cluster kuryrlab and the Docker Engine (dockerd
#   20.10 on /var/run/docker.sock), both started first because they start in the
#   background in parallel with the rest, Open vSwitch (userspace/netdev br-int +
#   OVN external_ids), OVN (NB/SB/northd + ovn-controller), neutron-server
#   (ML2/OVN, noauth, 127.0.0.1:9696). Waits until the Neutron API answers,
#   the OVN Controller agent of this host is alive and docker answers. Then builds
#   the local test images (images.sh) and, last, runs `lab/kuryr.sh start` if that
#   file exists. Prints a summary (component, pid).
#
# What THIS script started is recorded in /run/kuryr-lab/started (start order,
# each right before it is started);
# down.sh stops exactly those. A dockerd/OVS that was already running is reused
# and not recorded. Idempotent: a second run is a fast no-op.
#
# Usage: up.sh [--fresh]
#   --fresh (or KURYR_LAB_FRESH=1): wipe the Neutron DB and the OVN NB/SB DBs
#           together first (never one without the other; refused while neutron or
#           OVN run - run down.sh first).
# Env: KURYR_LAB_DOCKERD_ARGS extra dockerd arguments; see lib.sh for the others.
# Afterwards: /run/kuryr-lab/host = binding:host_id, /run/kuryr-lab/openrc.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FRESH=${KURYR_LAB_FRESH:-0}
for a in "$@"; do
  case $a in
    --fresh) FRESH=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: up.sh [--fresh]" >&2; exit 2 ;;
  esac
done
need_root
mkdir -p "$RUN" "$LOGDIR" "$DATA/lock"
touch "$STARTED"
# One up/down at a time. Every command that may leave a daemon behind gets
# `9>&-`, so that no daemon inherits (and keeps holding) the lock.
exec 9>"$RUN/lock"
flock -w 600 9 || die "another up.sh/down.sh holds $RUN/lock"

bash "$LAB_DIR/install.sh" 9>&-

PGVER=$(pg_version)
if [ "$FRESH" = 1 ]; then
  for pf in "$NEUTRON_PID" "$OVN_RUN/ovnnb_db.pid" "$OVN_RUN/ovnsb_db.pid" "$OVN_RUN/ovn-northd.pid"; do
    if pid_alive "$pf"; then die "--fresh refused: $(basename "$pf" .pid) is running (run down.sh first)"; fi
  done
fi
# Each component is recorded right before it is started, so that down.sh can
# stop it even when up.sh fails half-way.

# -------------------------------------------------------------------- PostgreSQL
# pg_ctlcluster polls in fixed 0.5 s steps (~2.5 s even though PG is ready in
# 10 ms): run it in the background while OVS, OVN and dockerd start.
pg_job=''
if ! pg_online; then
  log "starting PostgreSQL $PGVER/$PG_CLUSTER on 127.0.0.1:$PG_PORT (background)"
  record postgres
  pg_ctlcluster "$PGVER" "$PG_CLUSTER" start >"$LOGDIR/pg_ctlcluster.log" 2>&1 9>&- &
  pg_job=$!
fi

# ------------------------------------------------------------------------ Docker
# dockerd flags: none are needed on this machine. Checked here: the defaults work
# (storage driver overlay2 on ext4, cgroupfs driver on the cgroup v1 hierarchy,
# iptables via iptables-nft, containers on the default bridge reach each other).
# Note that dockerd (default --iptables=true) sets net.ipv4.ip_forward=1 and the
# FORWARD policy to DROP, and adds its DOCKER* chains; Kuryr's veths go into the
# userspace OVS datapath, which iptables does not see. Extra flags can be given in
# KURYR_LAB_DOCKERD_ARGS (word-split). Started early: it does not depend on the
# rest, so its start overlaps with Neutron's.
read -r -a DOCKERD_EXTRA <<<"${KURYR_LAB_DOCKERD_ARGS:-}"
docker_started=0
if docker_ok; then
  if our_dockerd_running; then log "dockerd already running (pid $(pid_of "$DOCKERD_PID"), started by the lab)"
  else log "reusing the dockerd already answering on $DOCKER_SOCK (not started by the lab, not recorded)"; fi
elif our_dockerd_running; then
  log "dockerd (pid $(pid_of "$DOCKERD_PID")) is running but not answering yet"
  docker_started=1
elif pid_alive /var/run/docker.pid dockerd; then
  log "a dockerd not started by the lab is starting (pid $(pid_of /var/run/docker.pid)); will reuse it"
else
  log "starting dockerd ($DOCKERD${DOCKERD_EXTRA[*]:+ ${DOCKERD_EXTRA[*]}}), log $LOGDIR/dockerd.log"
  record dockerd
  # own session (like neutron-server); it starts its own containerd as a child
  spawn "$DOCKERD_PID" "$LOGDIR/dockerd.log" "$DOCKERD" -H "unix://$DOCKER_SOCK" "${DOCKERD_EXTRA[@]}" \
    || die "dockerd did not start"
  docker_started=1
fi

# ------------------------------------------------------------------ Open vSwitch
if ! ovs_running; then
  log "starting Open vSwitch (ovs-ctl; no kernel module needed: netdev datapath)"
  record ovs
  # ovs-ctl fails its kernel-module step where modules exist but openvswitch.ko
  # does not; the userspace datapath works anyway, so only ovs-vsctl decides.
  "$OVS_CTL" start --system-id=random >"$LOGDIR/ovs-ctl.log" 2>&1 9>&- || {
    cat "$LOGDIR/ovs-ctl.log" >&2; ovs-vsctl --timeout=5 show >/dev/null || die "Open vSwitch did not start"; }
fi
# br-int must use the userspace datapath (no openvswitch kernel module here).
ovs-vsctl --timeout=10 --may-exist add-br br-int -- set bridge br-int datapath_type=netdev
HOST=$(ovs_hostname || true)
if [ -z "$HOST" ]; then HOST=$(hostname); ovs-vsctl set Open_vSwitch . external_ids:hostname="$HOST"; fi
if [ -z "$(ovs-vsctl get Open_vSwitch . external_ids:system-id 2>/dev/null | tr -d '"' || true)" ]; then
  ovs-vsctl set Open_vSwitch . external_ids:system-id="$(cat /proc/sys/kernel/random/uuid)"
fi
ovs-vsctl --timeout=10 set Open_vSwitch . \
  external_ids:ovn-remote=unix:$OVN_RUN/ovnsb_db.sock \
  external_ids:ovn-encap-type=geneve \
  external_ids:ovn-encap-ip=127.0.0.1 \
  external_ids:ovn-bridge=br-int \
  external_ids:ovn-bridge-datapath-type=netdev
# binding:host_id must be exactly the OVN chassis hostname, or binding fails.
echo "$HOST" > "$HOST_FILE"

# --------------------------------------------------------------------------- OVN
# neutron-server exits if the OVN DBs are not up, so OVN goes first.
if [ "$FRESH" = 1 ]; then
  log "--fresh: removing the OVN NB/SB DBs (the Neutron DB is dropped below)"
  rm -f /var/lib/ovn/ovnnb_db.db /var/lib/ovn/ovnsb_db.db
fi
if ! ovn_northd_running; then
  log "starting OVN NB/SB ovsdb-servers + ovn-northd"
  record ovn-northd
  "$OVN_CTL" start_northd >"$LOGDIR/ovn-ctl-northd.log" 2>&1 9>&- || { cat "$LOGDIR/ovn-ctl-northd.log" >&2; die "ovn-ctl start_northd failed"; }
fi
if ! ovn_controller_running; then
  log "starting ovn-controller"
  record ovn-controller
  "$OVN_CTL" start_controller >"$LOGDIR/ovn-ctl-controller.log" 2>&1 9>&- || { cat "$LOGDIR/ovn-ctl-controller.log" >&2; die "ovn-ctl start_controller failed"; }
fi

# ------------------------------------------------------------ Neutron database
# (PG accepts connections long before pg_ctlcluster returns; its job is reaped later)
if ! wait_for 30 "PostgreSQL" psql_admin 'select 1'; then
  cat "$LOGDIR/pg_ctlcluster.log" >&2 || true
  die "PostgreSQL not answering on 127.0.0.1:$PG_PORT"
fi
if [ "$FRESH" = 1 ]; then
  log "--fresh: dropping the Neutron DB"
  psql_admin 'DROP DATABASE IF EXISTS neutron' >/dev/null
fi
if [ "$(psql_admin "select 1 from pg_roles where rolname='neutron'")" != 1 ]; then
  psql_admin "CREATE ROLE neutron LOGIN PASSWORD 'neutron'" >/dev/null
fi
if [ "$(psql_admin "select 1 from pg_database where datname='neutron'")" != 1 ]; then
  psql_admin "CREATE DATABASE neutron OWNER neutron" >/dev/null
fi

# ------------------------------------------------------------------ neutron-server
if neutron_running; then
  log "neutron-server already running (pid $(pid_of "$NEUTRON_PID"))"
else
  log "neutron-db-manage upgrade heads"
  neutron-db-manage "${NEUTRON_ARGS[@]}" upgrade heads >"$LOGDIR/db-manage.log" 2>&1 || {
    tail -20 "$LOGDIR/db-manage.log" >&2; die "neutron-db-manage failed (see $LOGDIR/db-manage.log)"; }
  log "starting neutron-server (ML2/OVN, noauth) on 127.0.0.1:$API_PORT"
  record neutron-server
  # own session/process group, so that down.sh can also reap its workers
  spawn "$NEUTRON_PID" "$LOGDIR/neutron-server.stdout" /usr/bin/neutron-server "${NEUTRON_ARGS[@]}" \
    || die "neutron-server did not start"
fi

# ---------------------------------------------------------------------- waiting
deadline=$(( $(date +%s) + TIMEOUT ))
until neutron_api_ok; do
  if ! neutron_running; then
    tail -30 "$LOGDIR/neutron-server.stdout" "$LOGDIR/neutron-server.log" >&2 2>/dev/null || true
    die "neutron-server died; see $LOGDIR/neutron-server.log"
  fi
  [ "$(date +%s)" -lt "$deadline" ] || die "Neutron API not ready after ${TIMEOUT}s"
  sleep 0.3
done
log "Neutron API ready at $API"
# Port binding needs this host's chassis to show up as an alive OVN Controller agent.
until ovn_agent_alive "$HOST"; do
  [ "$(date +%s)" -lt "$deadline" ] || die "OVN Controller agent for host '$HOST' not alive after ${TIMEOUT}s"
  sleep 0.3
done
log "OVN Controller agent alive for host '$HOST' (= binding:host_id, in $HOST_FILE)"
until docker_ok; do
  if [ $docker_started = 1 ] && ! our_dockerd_running; then
    tail -20 "$LOGDIR/dockerd.log" >&2 || true
    die "dockerd died; see $LOGDIR/dockerd.log"
  fi
  [ "$(date +%s)" -lt "$deadline" ] || die "docker not answering on $DOCKER_SOCK after ${TIMEOUT}s"
  sleep 0.2
done
log "Docker Engine $(curl -s -m 5 --unix-socket "$DOCKER_SOCK" http://localhost/version | jq -r '.Version + " (API " + .ApiVersion + ")"') answering on $DOCKER_SOCK"

cat > "$RUN/openrc" <<EOF
# source me: openstack CLI against the lab Neutron (noauth)
export OS_AUTH_TYPE=none OS_ENDPOINT=$NEUTRON_URL
EOF

if [ -n "$pg_job" ]; then
  wait "$pg_job" || { cat "$LOGDIR/pg_ctlcluster.log" >&2; warn "pg_ctlcluster start reported a failure"; }
fi

# ------------------------------------------------------------- images and kuryr
bash "$LAB_DIR/images.sh" 9>&-

if [ -f "$KURYR_SH" ]; then
  log "bash $KURYR_SH start"
  bash "$KURYR_SH" start 9>&- || die "lab/kuryr.sh start failed"
fi

lab_summary || warn "some components are not running (see above)"
log "up: done; started by this lab: $(tr '\n' ' ' < "$STARTED")"
