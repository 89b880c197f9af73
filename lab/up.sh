#!/usr/bin/env bash
# lab/up.sh - bring the kuryr-ts lab up on this host, without systemd:
#   install.sh (packages + config, no-op when done), then, each only if it is not
#   already running: PostgreSQL cluster kuryrlab and the Docker Engine (dockerd
#   of KURYR_LAB_DOCKER, below, on /var/run/docker.sock), both started first
#   because they start in the background in parallel with the rest, Open vSwitch
#   (userspace/netdev br-int + OVN external_ids), OVN (NB/SB/northd + ovn-controller), Keystone (uwsgi on
#   127.0.0.1:5000; DB in the PG cluster; bootstrap + lab projects/users/endpoints,
#   idempotent), neutron-server (ML2/OVN, auth_strategy = keystone, 127.0.0.1:9696).
#   Waits until the Neutron API answers, the OVN Controller agent of this host is
#   alive and docker answers. Writes the clouds lab-admin and lab-demo to
#   /etc/kuryr-lab/clouds.yaml and merges them into ~root/.config/openstack/clouds.yaml
#   (other clouds there are kept). Then builds the local test images (images.sh)
#   and, last, runs `lab/kuryr.sh start` if that file exists. Prints a summary.
#
# KURYR_LAB_DOCKER=20.10|26.1|28.5 (default 28.5): the Docker Engine (lab/engine.sh fetches
# 26.1/28.5 from Debian's archive the first time). A dockerd this lab started that runs another
# engine is stopped (by pid; its containers stop with it) and the wanted one started, and so are
# the multi-host lab's hosts when they run. A dockerd the lab did not start is reused whatever
# its version (the mismatch is reported). The running engine is in /run/kuryr-lab/docker-engine,
# its client is /run/kuryr-lab/bin/docker (the lab scripts put that directory first on PATH).
#
# KURYR_LAB_NOAUTH=1: no Keystone, neutron-server with auth_strategy = noauth.
# A neutron-server running in the other mode is stopped (by pid) and started
# again in the wanted one; the kuryr daemon follows (kuryr.sh rewrites its conf).
#
# What THIS script started is recorded in /run/kuryr-lab/started (start order,
# each right before it is started);
# down.sh stops exactly those. A dockerd/OVS that was already running is reused
# and not recorded. Idempotent: a second run is a fast no-op.
#
# Usage: up.sh [--fresh] [--hosts N]
#   --hosts N (2..8): then also the multi-host lab, `lab/hosts.sh up N`: Docker
#           hosts host1..hostN, each in its own namespaces with its own OVS,
#           ovn-controller (OVN chassis), dockerd and kuryr daemon
#           (docs/multihost.md); down.sh stops them too.
#   --fresh (or KURYR_LAB_FRESH=1): wipe the Neutron DB and the OVN NB/SB DBs
#           together first (never one without the other), and Keystone's DB and
#           keys; refused while neutron, OVN or keystone run - run down.sh first.
# Env: KURYR_LAB_DOCKERD_ARGS extra dockerd arguments, KURYR_LAB_NOAUTH=1; see
#      lib.sh for the others.
# Afterwards: /run/kuryr-lab/host = binding:host_id, /run/kuryr-lab/auth =
# keystone|noauth, /run/kuryr-lab/openrc (admin credentials for the CLI).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FRESH=${KURYR_LAB_FRESH:-0}
MODE=keystone
if [ "${KURYR_LAB_NOAUTH:-0}" = 1 ]; then MODE=noauth; fi
HOSTS=0
while [ $# -gt 0 ]; do
  case $1 in
    --fresh) FRESH=1 ;;
    --hosts) HOSTS=${2:-}; shift ;;
    --hosts=*) HOSTS=${1#--hosts=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: up.sh [--fresh] [--hosts N]" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ "$HOSTS" =~ ^[0-9]+$ ]] || { [ "$HOSTS" -ne 0 ] && { [ "$HOSTS" -lt 2 ] || [ "$HOSTS" -gt 8 ]; }; }; then
  echo "up.sh: --hosts N needs 2 <= N <= 8" >&2; exit 2
fi
need_root
engine_check_choice
export KURYR_LAB_DOCKER=$LAB_DOCKER # hosts.sh, images.sh, kuryr.sh, zun.sh follow it
mkdir -p "$RUN" "$LOGDIR" "$DATA/lock"
touch "$STARTED"
# One up/down at a time. Every command that may leave a daemon behind gets
# `9>&-`, so that no daemon inherits (and keeps holding) the lock.
exec 9>"$RUN/lock"
flock -w 600 9 || die "another up.sh/down.sh holds $RUN/lock"

bash "$LAB_DIR/install.sh" 9>&-
if [ "$MODE" = keystone ]; then NEUTRON_ARGS+=(--config-file "$NEUTRON_KEYSTONE_CONF"); fi

PGVER=$(pg_version)
if [ "$FRESH" = 1 ]; then
  for pf in "$NEUTRON_PID" "$OVN_RUN/ovnnb_db.pid" "$OVN_RUN/ovnsb_db.pid" "$OVN_RUN/ovn-northd.pid" "$KEYSTONE_PID"; do
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
if [ ! -x "$DOCKERD" ]; then
  bash "$LAB_DIR/engine.sh" fetch "$LAB_DOCKER" 9>&- || die "Docker $LAB_DOCKER: lab/engine.sh fetch failed"
fi
docker_started=0
engine_switched=0
# KURYR_LAB_DOCKER: a dockerd the lab started from another engine's binary is replaced
if our_dockerd_running; then
  running_engine=$(engine_of_pid "$(pid_of "$DOCKERD_PID")")
  if [ "$running_engine" != "$LAB_DOCKER" ]; then
    log "the lab's dockerd (pid $(pid_of "$DOCKERD_PID")) runs Docker ${running_engine:-$(docker_version "$DOCKER_SOCK") (an older build)}, KURYR_LAB_DOCKER wants $LAB_DOCKER: switching ($(docker ps -q 2>/dev/null | wc -l) running containers stop with it)"
    stop_lab_dockerd
    engine_switched=1
  fi
fi
if docker_ok; then
  if our_dockerd_running; then log "dockerd already running (pid $(pid_of "$DOCKERD_PID"), started by the lab, Docker $LAB_DOCKER)"
  else
    log "reusing the dockerd already answering on $DOCKER_SOCK (not started by the lab, not recorded)"
    running_engine=$(docker_version "$DOCKER_SOCK")
    if [ "$(engine_minor <<<"$running_engine")" != "$LAB_DOCKER" ]; then
      warn "that dockerd is Docker ${running_engine:-?}, not KURYR_LAB_DOCKER=$LAB_DOCKER: the lab runs on it anyway (stop it to let the lab start $LAB_DOCKER)"
    fi
  fi
elif our_dockerd_running; then
  log "dockerd (pid $(pid_of "$DOCKERD_PID")) is running but not answering yet"
  docker_started=1
elif pid_alive /var/run/docker.pid dockerd; then
  log "a dockerd not started by the lab is starting (pid $(pid_of /var/run/docker.pid)); will reuse it"
else
  # 20.10 keeps Docker's default data root (/var/lib/docker); 26.1 and 28.5 have their own
  data_root=()
  [ "$LAB_DOCKER" = 20.10 ] || data_root=(--data-root "$(engine_data_root "$LAB_DOCKER")")
  log "starting dockerd $LAB_DOCKER ($DOCKERD${data_root[*]:+ ${data_root[*]}}${DOCKERD_EXTRA[*]:+ ${DOCKERD_EXTRA[*]}}), log $LOGDIR/dockerd.log"
  record dockerd
  # own session (like neutron-server); it starts its own containerd (bookworm's) as a child.
  # PATH: the engine's own docker-proxy first.
  spawn "$DOCKERD_PID" "$LOGDIR/dockerd.log" env PATH="$(engine_path "$LAB_DOCKER")" "$DOCKERD" -H "unix://$DOCKER_SOCK" \
    "${data_root[@]}" "${DOCKERD_EXTRA[@]}" || die "dockerd did not start"
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
  log "--fresh: dropping the Neutron and Keystone DBs, Keystone's keys"
  psql_admin 'DROP DATABASE IF EXISTS neutron' >/dev/null
  psql_admin 'DROP DATABASE IF EXISTS keystone' >/dev/null
  rm -rf "$KS_DATA/fernet-keys" "$KS_DATA/credential-keys" "$KS_DATA"/*.stamp
fi
ensure_db() { # name (role = database = password = name); returns 0 when it created the database
  if [ "$(psql_admin "select 1 from pg_roles where rolname='$1'")" != 1 ]; then
    psql_admin "CREATE ROLE $1 LOGIN PASSWORD '$1'" >/dev/null
  fi
  if [ "$(psql_admin "select 1 from pg_database where datname='$1'")" != 1 ]; then
    psql_admin "CREATE DATABASE $1 OWNER $1" >/dev/null
    return 0
  fi
  return 1
}
ensure_db neutron || true

# ---------------------------------------------------------------------- Keystone
# keystone-manage steps are skipped when their stamp (in $KS_DATA, removed with
# the DB) says they were done: db_sync per package version, bootstrap once; the
# REST setup (projects, users, roles, network service + endpoints) once per
# setup version. Each step is idempotent anyway.
KS_SETUP_VERSION=1
ks() { # method path [json]: Keystone API with $KS_TOKEN; body on stdout; fails on HTTP >= 400
  if [ -n "${3:-}" ]; then
    curl -sf -m 30 -X "$1" -H "X-Auth-Token: $KS_TOKEN" -H 'Content-Type: application/json' -d "$3" "$KS_API$2"
  else
    curl -sf -m 30 -X "$1" -H "X-Auth-Token: $KS_TOKEN" "$KS_API$2"
  fi
}
ks_id() { # collection name [create-json] -> id of the object named name in domain default (created if missing)
  local id
  id=$(ks GET "/$1?name=$2" | jq -r --arg c "$1" '.[$c][0].id // empty')
  if [ -z "$id" ] && [ -n "${3:-}" ]; then id=$(ks POST "/$1" "$3" | jq -r 'to_entries[0].value.id'); fi
  [ -n "$id" ] || die "Keystone: no $1 '$2'"
  echo "$id"
}
keystone_setup() {
  local admin member service demo u svc itf name pw project role uid
  KS_TOKEN=$(ks_token admin "$KS_ADMIN_PASSWORD" admin)
  [ -n "$KS_TOKEN" ] || die "Keystone: cannot get a token for admin (see $LOGDIR/keystone.log)"
  admin=$(ks_id roles admin)
  member=$(ks_id roles member '{"role":{"name":"member"}}')
  service=$(ks_id projects service '{"project":{"name":"service","domain_id":"default","description":"kuryr-ts lab: service users"}}')
  demo=$(ks_id projects demo '{"project":{"name":"demo","domain_id":"default","description":"kuryr-ts lab: a non-admin project"}}')
  for u in neutron:"$KS_NEUTRON_PASSWORD":"$service":"$admin" kuryr:"$KS_KURYR_PASSWORD":"$service":"$admin" \
           demo:"$KS_DEMO_PASSWORD":"$demo":"$member"; do
    IFS=: read -r name pw project role <<<"$u"
    uid=$(ks_id users "$name" "$(jq -cn --arg n "$name" --arg p "$pw" --arg d "$project" \
      '{user:{name:$n,password:$p,domain_id:"default",default_project_id:$d}}')")
    ks PUT "/projects/$project/users/$uid/roles/$role" >/dev/null || die "Keystone: cannot grant a role to $name"
  done
  svc=$(ks_id services neutron '{"service":{"type":"network","name":"neutron","description":"kuryr-ts lab Neutron"}}')
  for itf in public internal admin; do
    if [ -z "$(ks GET "/endpoints?service_id=$svc&interface=$itf&region_id=$KS_REGION" | jq -r '.endpoints[0].id // empty')" ]; then
      ks POST /endpoints "$(jq -cn --arg s "$svc" --arg i "$itf" --arg r "$KS_REGION" --arg u "$NEUTRON_URL" \
        '{endpoint:{service_id:$s,interface:$i,region_id:$r,url:$u}}')" >/dev/null || die "Keystone: cannot create the $itf endpoint"
    fi
  done
  echo "$KS_SETUP_VERSION" > "$KS_DATA/setup.stamp"
  log "Keystone set up: admin/admin (project admin); service users neutron, kuryr (admin); demo (member of demo); network endpoints -> $NEUTRON_URL"
}
if [ "$MODE" = keystone ]; then
  KM=(keystone-manage --config-file "$KS_ETC/keystone.conf")
  if keystone_running; then
    log "keystone already running (pid $(pid_of "$KEYSTONE_PID"))"
  else
    if ensure_db keystone; then rm -f "$KS_DATA"/*.stamp; fi
    mkdir -p "$KS_DATA"
    ks_version=$(dpkg-query -W -f='${Version}' keystone)
    if [ "$(cat "$KS_DATA/db_sync.stamp" 2>/dev/null)" != "$ks_version" ]; then
      log "keystone-manage db_sync"
      "${KM[@]}" db_sync >>"$LOGDIR/keystone-manage.log" 2>&1 || {
        tail -20 "$LOGDIR/keystone-manage.log" >&2; die "keystone-manage db_sync failed (see $LOGDIR/keystone-manage.log)"; }
      echo "$ks_version" > "$KS_DATA/db_sync.stamp"
    fi
    for keys in fernet credential; do
      [ -d "$KS_DATA/$keys-keys" ] && continue
      "${KM[@]}" "${keys}_setup" --keystone-user root --keystone-group root >>"$LOGDIR/keystone-manage.log" 2>&1 \
        || die "keystone-manage ${keys}_setup failed (see $LOGDIR/keystone-manage.log)"
    done
    if [ ! -f "$KS_DATA/bootstrap.stamp" ]; then
      log "keystone-manage bootstrap (admin/admin, region $KS_REGION)"
      "${KM[@]}" bootstrap --bootstrap-password "$KS_ADMIN_PASSWORD" --bootstrap-region-id "$KS_REGION" \
        --bootstrap-admin-url "$KS_API/" --bootstrap-internal-url "$KS_API/" --bootstrap-public-url "$KS_API/" \
        >>"$LOGDIR/keystone-manage.log" 2>&1 || die "keystone-manage bootstrap failed (see $LOGDIR/keystone-manage.log)"
      touch "$KS_DATA/bootstrap.stamp"
    fi
    log "starting Keystone (uwsgi) on $KS_URL, log $LOGDIR/keystone.log"
    record keystone
    spawn "$KEYSTONE_PID" "$LOGDIR/keystone-uwsgi.log" "$(command -v uwsgi || echo /usr/bin/uwsgi-core)" --ini "$KS_ETC/uwsgi.ini" \
      || die "keystone (uwsgi) did not start"
  fi
  deadline=$(( $(date +%s) + TIMEOUT ))
  until keystone_api_ok; do
    if ! keystone_running; then
      tail -20 "$LOGDIR/keystone-uwsgi.log" "$LOGDIR/keystone.log" >&2 2>/dev/null || true
      die "keystone died; see $LOGDIR/keystone-uwsgi.log and $LOGDIR/keystone.log"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "Keystone not answering on $KS_API after ${TIMEOUT}s"
    sleep 0.2
  done
  if [ "$(cat "$KS_DATA/setup.stamp" 2>/dev/null)" != "$KS_SETUP_VERSION" ]; then keystone_setup; fi
  log "Keystone ready at $KS_API"
fi

# ------------------------------------------------------------------ neutron-server
if neutron_running && [ "$(lab_auth)" != "$MODE" ]; then
  log "neutron-server runs with auth=$(lab_auth) but this lab wants auth=$MODE: restarting it"
  stop_neutron_server
fi
if neutron_running; then
  log "neutron-server already running (pid $(pid_of "$NEUTRON_PID"))"
else
  log "neutron-db-manage upgrade heads"
  neutron-db-manage "${NEUTRON_ARGS[@]}" upgrade heads >"$LOGDIR/db-manage.log" 2>&1 || {
    tail -20 "$LOGDIR/db-manage.log" >&2; die "neutron-db-manage failed (see $LOGDIR/db-manage.log)"; }
  log "starting neutron-server (ML2/OVN, auth_strategy=$MODE) on 127.0.0.1:$API_PORT"
  record neutron-server
  # own session/process group, so that down.sh can also reap its workers
  spawn "$NEUTRON_PID" "$LOGDIR/neutron-server.stdout" /usr/bin/neutron-server "${NEUTRON_ARGS[@]}" \
    || die "neutron-server did not start"
  echo "$MODE" > "$AUTH_FILE"
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
log "Neutron API ready at $API (auth: $MODE)"
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
# the running engine ("<ver> <version> <dockerd> lab|other") and its client, first on the lab's PATH
running_engine=$(docker_version "$DOCKER_SOCK")
if our_dockerd_running; then
  echo "$(engine_minor <<<"$running_engine") $running_engine $(readlink "/proc/$(pid_of "$DOCKERD_PID")/exe") lab" > "$ENGINE_FILE"
else
  echo "$(engine_minor <<<"$running_engine") $running_engine - other" > "$ENGINE_FILE"
fi
link_cli "$(engine_minor <<<"$running_engine")"
log "docker client: $(command -v docker) ($(docker --version 2>/dev/null || echo '?'))"

if [ "$MODE" = keystone ]; then
  (umask 077; : > "$RUN/openrc") # it holds the admin password
  cat > "$RUN/openrc" <<EOF
# source me: openstack CLI as the lab's admin (or use OS_CLOUD=lab-admin / lab-demo)
unset OS_AUTH_TYPE OS_ENDPOINT OS_CLOUD
export OS_AUTH_URL=$KS_API OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=$KS_REGION OS_INTERFACE=public
export OS_USERNAME=admin OS_PASSWORD=$KS_ADMIN_PASSWORD OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
EOF
  # clouds.yaml: the lab's own copy, merged into root's ~/.config/openstack/clouds.yaml
  lab_cloud() { # name user password project
    printf '  %s:\n    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n      project_name: %s\n' "$1" "$KS_API" "$2" "$3" "$4"
    printf '      user_domain_name: Default\n      project_domain_name: Default\n'
    printf '    region_name: %s\n    interface: public\n    identity_api_version: 3\n' "$KS_REGION"
  }
  { echo "# generated by kuryr-ts lab/up.sh: the lab's clouds (OS_CLOUD=lab-admin | lab-demo)"
    echo "clouds:"
    lab_cloud lab-admin admin "$KS_ADMIN_PASSWORD" admin
    lab_cloud lab-demo demo "$KS_DEMO_PASSWORD" demo
  } > "$LAB_CLOUDS.tmp"
  chmod 600 "$LAB_CLOUDS.tmp"; mv "$LAB_CLOUDS.tmp" "$LAB_CLOUDS"
  user_clouds=$(getent passwd "$(id -u)" | cut -d: -f6)/.config/openstack/clouds.yaml
  # Debian's PyYAML (a dependency of the openstack CLI): keeps the other clouds;
  # the file is only rewritten when the lab's clouds in it differ.
  if msg=$(/usr/bin/python3 - "$LAB_CLOUDS" "$user_clouds" <<'PY' 2>&1
import os, sys, yaml
lab = yaml.safe_load(open(sys.argv[1]))["clouds"]
path = sys.argv[2]
doc = {}
if os.path.exists(path):
    doc = yaml.safe_load(open(path)) or {}
if not isinstance(doc, dict) or not isinstance(doc.get("clouds") or {}, dict):
    sys.exit(f"{path}: not a clouds.yaml (no 'clouds' mapping); left alone")
clouds = doc.get("clouds") or {}
if all(clouds.get(k) == v for k, v in lab.items()):
    print(f"{path}: lab-admin and lab-demo up to date")
    sys.exit(0)
clouds.update(lab)
doc["clouds"] = clouds
os.makedirs(os.path.dirname(path), exist_ok=True)
tmp = path + ".kuryr-lab.tmp"
with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    yaml.safe_dump(doc, f, default_flow_style=False, sort_keys=False)
os.replace(tmp, path)
print(f"{path}: wrote clouds lab-admin, lab-demo ({len(clouds) - len(lab)} other cloud(s) kept)")
PY
  ); then log "$msg"; else warn "clouds.yaml: $msg"; fi
else
  cat > "$RUN/openrc" <<EOF
# source me: openstack CLI against the lab Neutron (noauth)
unset OS_AUTH_URL OS_CLOUD OS_USERNAME OS_PASSWORD OS_PROJECT_NAME
export OS_AUTH_TYPE=none OS_ENDPOINT=$NEUTRON_URL
EOF
fi

if [ -n "$pg_job" ]; then
  wait "$pg_job" || { cat "$LOGDIR/pg_ctlcluster.log" >&2; warn "pg_ctlcluster start reported a failure"; }
fi

# ------------------------------------------------------------- images and kuryr
bash "$LAB_DIR/images.sh" 9>&-

if [ -f "$KURYR_SH" ]; then
  log "bash $KURYR_SH start"
  bash "$KURYR_SH" start 9>&- || die "lab/kuryr.sh start failed"
fi
# the multi-host lab (docs/multihost.md); after an engine switch, hosts that run follow it
if [ "$HOSTS" -lt 2 ] && [ "$engine_switched" = 1 ] && [ -f "$LAB_DIR/hosts.sh" ]; then
  HOSTS=$(KURYR_LAB_LOCK_HELD=1 bash "$LAB_DIR/hosts.sh" list 9>&- | awk '{n = substr($1, 5) + 0; if (n > m) m = n} END {print m + 0}')
  if [ "$HOSTS" -ge 2 ]; then log "the multi-host lab's hosts follow the engine switch: lab/hosts.sh up $HOSTS"; else HOSTS=0; fi
fi
if [ "$HOSTS" -ge 2 ]; then
  KURYR_LAB_LOCK_HELD=1 bash "$LAB_DIR/hosts.sh" up "$HOSTS" 9>&- || die "lab/hosts.sh up $HOSTS failed"
fi

# the container service (zun-api on 127.0.0.1:9517; `zun` on PATH), after the hosts:
# its zun.conf lists the multi-host lab's hosts when they are up
if [ -f "$LAB_DIR/zun.sh" ]; then bash "$LAB_DIR/zun.sh" start 9>&- || die "lab/zun.sh start failed"; fi

lab_summary || warn "some components are not running (see above)"
log "up: done; started by this lab: $(tr '\n' ' ' < "$STARTED")"
