#!/usr/bin/env bash
# lab/down.sh - stop the kuryr-ts lab: first the multi-host lab's hosts
# (`lab/hosts.sh down`: what /run/kuryr-lab/hosts.started lists), then
# `lab/zun.sh stop` and `lab/kuryr.sh stop` (if those files exist), then
# EXACTLY the components listed in /run/kuryr-lab/started (what up.sh
# started), in reverse start order, by pid file - never by process name:
#   dockerd         SIGTERM its pid, wait up to 20 s, then SIGKILL; its containerd
#                   (a child) and shims follow, leftovers of those pids are killed
#                   (lib.sh's stop_lab_dockerd; also drops /run/kuryr-lab/docker-engine
#                   and the client link /run/kuryr-lab/bin/docker)
#   neutron-server  SIGTERM, wait up to 20 s, then SIGKILL its process group
#   keystone        the same for its uwsgi master (its workers are in its group)
#   ovn-controller / ovn-northd (+ NB/SB DBs)   ovn-ctl stop_* (pid files)
#   postgres        pg_ctlcluster <ver> kuryrlab stop -m fast
#   ovs             ovs-ctl stop (only if up.sh started it)
# A component that was already running before up.sh (not recorded) is left alone.
# Idempotent. Usage: down.sh
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
mkdir -p "$RUN"
exec 9>"$RUN/lock"
flock -w 600 9 || die "another up.sh/down.sh holds $RUN/lock"

if [ -f "$LAB_DIR/hosts.sh" ]; then KURYR_LAB_LOCK_HELD=1 bash "$LAB_DIR/hosts.sh" down 9>&- || warn "lab/hosts.sh down failed (continuing)"; fi
if [ -f "$LAB_DIR/zun.sh" ]; then bash "$LAB_DIR/zun.sh" stop 9>&- || warn "lab/zun.sh stop failed (continuing)"; fi
if [ -f "$KURYR_SH" ]; then
  log "bash $KURYR_SH stop"
  bash "$KURYR_SH" stop 9>&- || warn "lab/kuryr.sh stop failed (continuing)"
fi

[ -s "$STARTED" ] || { log "nothing recorded in $STARTED: nothing to stop"; exit 0; }

stop_ovn_controller() {
  log "stopping ovn-controller"
  "$OVN_CTL" stop_controller >/dev/null 2>&1 || warn "ovn-ctl stop_controller failed"
  unrecord ovn-controller
}

stop_ovn_northd() {
  log "stopping ovn-northd + OVN NB/SB ovsdb-servers"
  "$OVN_CTL" stop_northd >/dev/null 2>&1 || warn "ovn-ctl stop_northd failed"
  unrecord ovn-northd
}

stop_postgres() {
  log "stopping PostgreSQL $(pg_version)/$PG_CLUSTER"
  if pg_online; then pg_ctlcluster "$(pg_version)" "$PG_CLUSTER" stop -m fast || warn "pg_ctlcluster stop failed"; fi
  unrecord postgres
}

stop_ovs() {
  log "stopping Open vSwitch (started by up.sh)"
  "$OVS_CTL" stop >/dev/null 2>&1 || warn "ovs-ctl stop failed"
  unrecord ovs
}

# reverse order of up.sh
for c in dockerd neutron-server keystone ovn-controller ovn-northd postgres ovs; do
  is_recorded "$c" || continue
  case $c in
    dockerd) stop_lab_dockerd ;;
    neutron-server) stop_neutron_server ;;
    keystone) stop_keystone ;;
    ovn-controller) stop_ovn_controller ;;
    ovn-northd) stop_ovn_northd ;;
    postgres) stop_postgres ;;
    ovs) stop_ovs ;;
  esac
done
left=$(tr '\n' ' ' < "$STARTED")
[ -z "${left// /}" ] || warn "still recorded (unknown to down.sh): $left"
log "down: done"
