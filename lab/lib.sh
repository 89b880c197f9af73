# shellcheck shell=bash disable=SC2034  # (SC2034: variables are used by the scripts sourcing this)
# lab/lib.sh - shared variables and helpers for the kuryr-ts lab scripts
# (install.sh, up.sh, down.sh, status.sh, images.sh, smoke.sh). Source it, do not
# run it. The lab is a single-host OpenStack Neutron (Zed, ML2/OVN) behind
# Keystone (or noauth) on a userspace (netdev) Open vSwitch datapath, PostgreSQL
# and a Docker Engine, started without systemd. Each script's header says what
# it does.
#
# Paths:  config /etc/kuryr-lab, runtime /run/kuryr-lab, logs /var/log/kuryr-lab,
#         data /var/lib/kuryr-lab, PG cluster <ver>/kuryrlab on 127.0.0.1:5439,
#         Keystone http://127.0.0.1:5000/v3, Neutron API http://127.0.0.1:9696.
# Env overrides: KURYR_LAB_PG_PORT, KURYR_LAB_API_PORT, KURYR_LAB_API_WORKERS,
#         KURYR_LAB_KEYSTONE_PORT, KURYR_LAB_TIMEOUT (seconds to wait for
#         services, default 180), KURYR_LAB_NOAUTH=1 (up.sh: Neutron with
#         auth_strategy = noauth and no Keystone).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
export LAB_DIR REPO_DIR

ETC=/etc/kuryr-lab
RUN=/run/kuryr-lab
LOGDIR=/var/log/kuryr-lab
DATA=/var/lib/kuryr-lab
STARTED=$RUN/started            # components started by up.sh, one per line, in start order
HOST_FILE=$RUN/host             # binding:host_id (= OVN chassis hostname)

PG_CLUSTER=kuryrlab
PG_PORT=${KURYR_LAB_PG_PORT:-5439}
API_PORT=${KURYR_LAB_API_PORT:-9696}
API_WORKERS=${KURYR_LAB_API_WORKERS:-2}
TIMEOUT=${KURYR_LAB_TIMEOUT:-180}
NEUTRON_URL=http://127.0.0.1:${API_PORT}
API=$NEUTRON_URL/v2.0
NEUTRON_PID=$RUN/neutron-server.pid
NEUTRON_ARGS=(--config-file "$ETC/neutron.conf" --config-file "$ETC/ml2_conf.ini")
# Keystone mode adds this file (auth_strategy = keystone + [keystone_authtoken]).
NEUTRON_KEYSTONE_CONF=$ETC/neutron-keystone.conf
# The auth mode the running neutron-server was started with: keystone | noauth
# (written by up.sh; a missing file means a lab started before Keystone: noauth).
AUTH_FILE=$RUN/auth

# Keystone (Debian's `keystone`, under uwsgi, DB in the lab's PG cluster)
KS_PORT=${KURYR_LAB_KEYSTONE_PORT:-5000}
KS_URL=http://127.0.0.1:${KS_PORT}
KS_API=$KS_URL/v3
KS_ETC=$ETC/keystone
KS_DATA=$DATA/keystone
KEYSTONE_PID=$RUN/keystone.pid
KS_REGION=RegionOne
# Lab credentials (throw-away, loopback only). admin is keystone-manage
# bootstrap's; neutron is keystonemiddleware's; kuryr is the daemon's (admin
# role: it sets binding:*); demo is a plain member of project demo.
KS_ADMIN_PASSWORD=admin
KS_NEUTRON_PASSWORD=neutron-lab-pw
KS_KURYR_PASSWORD=kuryr-lab-pw
KS_DEMO_PASSWORD=demo
# The lab's clouds (lab-admin, lab-demo): the lab's own copy; up.sh merges them
# into the invoking user's ~/.config/openstack/clouds.yaml.
LAB_CLOUDS=$ETC/clouds.yaml

OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
OVN_CTL=/usr/share/ovn/scripts/ovn-ctl
OVS_RUN=/var/run/openvswitch
OVN_RUN=/var/run/ovn

# Docker Engine: KURYR_LAB_DOCKER = 20.10 | 26.1 | 28.5 (default 28.5), Debian's docker.io of
# bookworm (installed by install.sh, /usr/sbin/dockerd), trixie or forky/testing (downloaded with
# apt's own tools by lab/engine.sh and extracted into /opt/kuryr-lab/docker-<ver>). Each runs with
# bookworm's containerd and runc. 26.1 and 28.5 get data roots of their own (Docker does not
# support going back to an older engine on the same data root).
DOCKER_VERSIONS=(20.10 26.1 28.5)
DOCKER_DEFAULT=28.5
ENGINES_DIR=/opt/kuryr-lab
LAB_DOCKER=${KURYR_LAB_DOCKER:-$DOCKER_DEFAULT}
ENGINE_FILE=$RUN/docker-engine  # the lab's running engine: "<ver> <version> <dockerd> <started-by>"
CLI_DIR=$RUN/bin                # docker -> the client of the running engine (first on PATH)
docker_suite() { # ver -> Debian suite whose docker.io it is
  case $1 in 20.10) echo bookworm ;; 26.1) echo trixie ;; 28.5) echo forky ;; *) return 1 ;; esac
}
engine_prefix() { if [ "$1" = 20.10 ]; then echo ""; else echo "$ENGINES_DIR/docker-$1"; fi; }
engine_dockerd() { echo "$(engine_prefix "$1")/usr/sbin/dockerd"; }
engine_cli() { echo "$(engine_prefix "$1")/usr/bin/docker"; }
engine_path() { # ver -> PATH for its dockerd: its own docker-proxy first, then bookworm's containerd, runc
  local p
  p=$(engine_prefix "$1")
  echo "${p:+$p/usr/sbin:$p/usr/bin:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}
engine_data_root() { # ver [dir]: its data root in dir (a multi-host lab host's); without dir the
  # main lab's: 20.10 keeps Docker's default /var/lib/docker, the others $DATA/docker-<ver>
  if [ -n "${2:-}" ]; then
    if [ "$1" = 20.10 ]; then echo "$2/docker"; else echo "$2/docker-$1"; fi
  elif [ "$1" = 20.10 ]; then echo /var/lib/docker; else echo "$DATA/docker-$1"; fi
}
engine_check_choice() { docker_suite "$LAB_DOCKER" >/dev/null || die "KURYR_LAB_DOCKER=$LAB_DOCKER: not one of ${DOCKER_VERSIONS[*]}"; }
engine_minor() { sed -E 's/^([0-9]+\.[0-9]+).*/\1/'; } # "28.5.2+dfsg4" -> "28.5" (stdin)
DOCKERD=$(engine_dockerd "$LAB_DOCKER")
DOCKER_SOCK=/var/run/docker.sock
DOCKERD_PID=$RUN/dockerd.pid
# Talk to the lab engine whatever the caller's environment says.
export DOCKER_HOST=unix://$DOCKER_SOCK
unset DOCKER_CONTEXT

# V8 flags of the kuryr daemon, as bin/kuryr.js's shebang (why: its comment): less resident memory
KURYR_NODE_FLAGS="--max-semi-space-size=1 --max-old-space-size=256 --v8-pool-size=1 --optimize-for-size --expose-gc"
KURYR_SH=$LAB_DIR/kuryr.sh      # written by someone else: starts/stops the kuryr daemon

# `python3` on PATH may be a pyenv shim without the OpenStack libs; the scripts
# only use curl/jq, but make sure Debian's tools win for anything else.
# $CLI_DIR first: the `docker` client of the running engine (not the machine's own /usr/local/bin/docker).
export PATH=$CLI_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# ------------------------------------------------------------------ logging
LAB_T0=${EPOCHREALTIME:-$(date +%s.%N)}
LAB_NAME=$(basename "$0" .sh)
elapsed() { # seconds since the script started, e.g. "3.2"
  awk -v a="${EPOCHREALTIME:-$(date +%s.%N)}" -v b="$LAB_T0" 'BEGIN{printf "%.1f", a-b}'
}
log() { printf '[%s %6ss] %s\n' "$LAB_NAME" "$(elapsed)" "$*"; }
warn() { log "WARNING: $*" >&2; }
die() { log "ERROR: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# ---------------------------------------------------- started-components list
record() { mkdir -p "$RUN"; touch "$STARTED"; grep -qx "$1" "$STARTED" || echo "$1" >> "$STARTED"; }
unrecord() { [ -f "$STARTED" ] && sed -i "/^$1\$/d" "$STARTED"; return 0; }
is_recorded() { [ -f "$STARTED" ] && grep -qx "$1" "$STARTED"; }

# -------------------------------------------------------------- processes
pid_of() { # pidfile -> pid on stdout (first line; postmaster.pid has more)
  [ -s "$1" ] || return 1
  local p
  p=$(head -n1 "$1" 2>/dev/null | tr -dc '0-9')
  [ -n "$p" ] || return 1
  echo "$p"
}
alive() { # pid: running (a zombie counts as gone: a daemon whose parent exited is
  # reaped by init or a subreaper, which may take seconds)
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ]
}
pid_alive() { # pidfile [cmdline-substring]: live process, optionally checked against its
  # command line so that a stale pid file (reused pid) is never mistaken for ours.
  local p
  p=$(pid_of "$1") || return 1
  alive "$p" || return 1
  [ -z "${2:-}" ] || tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$2"
}
spawn() { # pidfile logfile command... : start a daemon in its own session (setsid),
  # stdout/stderr appended to logfile. The pid is written by the process itself
  # right before exec, so it is right even when setsid has to fork. fd 9 (the
  # up/down lock) is not inherited.
  local pf=$1 lf=$2
  shift 2
  rm -f "$pf"
  # shellcheck disable=SC2016  # $$, $0 and "$@" are for the child sh
  setsid /bin/sh -c 'echo $$ > "$0"; exec "$@"' "$pf" "$@" >>"$lf" 2>&1 </dev/null 9>&- &
  wait_for 10 "$(basename "$pf")" test -s "$pf"
}
descendants() { # pid... -> all their descendant pids, one per line
  local p c
  for p in "$@"; do
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
      echo "$c"; descendants "$c"
    done
  done
}
wait_gone() { # pid timeout_s
  local i
  for ((i = 0; i < $2 * 10; i++)); do alive "$1" || return 0; sleep 0.1; done
  ! alive "$1"
}
wait_for() { # timeout_s description command... : poll every 0.2 s until the command succeeds
  local t=$1 what=$2 deadline
  shift 2
  deadline=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { warn "timeout (${t}s) waiting for $what"; return 1; }
    sleep 0.2
  done
}

# ------------------------------------------------------------ components
pg_version() { find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -1; }
pg_datadir() { echo "/var/lib/postgresql/$(pg_version)/$PG_CLUSTER"; }
pg_online() { pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" '$2==c{print $4}' | grep -qx online; }
psql_admin() { PGOPTIONS=--client-min-messages=warning psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA -c "$1"; }

ovs_running() { pid_alive "$OVS_RUN/ovsdb-server.pid" && pid_alive "$OVS_RUN/ovs-vswitchd.pid" && ovs-vsctl --timeout=5 show >/dev/null 2>&1; }
ovn_northd_running() { pid_alive "$OVN_RUN/ovn-northd.pid" && pid_alive "$OVN_RUN/ovnnb_db.pid" && pid_alive "$OVN_RUN/ovnsb_db.pid"; }
ovn_controller_running() { pid_alive "$OVN_RUN/ovn-controller.pid"; }
neutron_running() { pid_alive "$NEUTRON_PID" neutron-server; }
lab_auth() { cat "$AUTH_FILE" 2>/dev/null || echo noauth; } # auth mode of the running neutron-server

keystone_running() { pid_alive "$KEYSTONE_PID" uwsgi; }
keystone_api_ok() { curl -sf -m 5 -o /dev/null "$KS_API"; }
ks_token() { # user password project -> a project-scoped token on stdout (users/projects in domain default)
  local body
  body=$(jq -cn --arg u "$1" --arg p "$2" --arg s "$3" \
    '{auth:{identity:{methods:["password"],password:{user:{name:$u,domain:{id:"default"},password:$p}}},scope:{project:{name:$s,domain:{id:"default"}}}}}')
  curl -s -m 10 -D - -o /dev/null -H 'Content-Type: application/json' -d "$body" "$KS_API/auth/tokens" \
    | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r'
}
# LAB_TOKEN: lab-admin token for the checks below when Neutron runs behind
# Keystone (call ensure_lab_token in the main shell). Kept in $LAB_TOKEN_FILE
# for 50 min (tokens live 1 h): a new token costs Keystone ~0.5 s and Neutron
# ~1 s to validate, which made every status.sh / idempotent up.sh 2 s slower.
LAB_TOKEN=
LAB_TOKEN_FILE=$RUN/lab-admin.token
ensure_lab_token() {
  [ "$(lab_auth)" = keystone ] || return 0
  [ -z "$LAB_TOKEN" ] || return 0
  if [ -s "$LAB_TOKEN_FILE" ] && [ -n "$(find "$LAB_TOKEN_FILE" -mmin -50 2>/dev/null)" ]; then
    LAB_TOKEN=$(cat "$LAB_TOKEN_FILE"); return 0
  fi
  LAB_TOKEN=$(ks_token admin "$KS_ADMIN_PASSWORD" admin || true)
  [ -n "$LAB_TOKEN" ] || return 1
  (umask 077; mkdir -p "$RUN"; echo "$LAB_TOKEN" > "$LAB_TOKEN_FILE.$$" && mv "$LAB_TOKEN_FILE.$$" "$LAB_TOKEN_FILE")
}
drop_lab_token() { LAB_TOKEN=; rm -f "$LAB_TOKEN_FILE"; }
ncurl() { # curl -s for the lab's Neutron (30 s cap; a later -m wins), with the lab-admin token in Keystone mode
  if [ "$(lab_auth)" = keystone ]; then curl -s -m 30 -H "X-Auth-Token: $LAB_TOKEN" "$@"; else curl -s -m 30 "$@"; fi
}
neutron_api_ok() { # a 401 (e.g. Keystone's keys were renewed) drops the cached token for the next try
  local code
  ensure_lab_token || return 1
  code=$(ncurl -m 5 -o /dev/null -w '%{http_code}' "$API/networks?limit=1")
  if [ "$code" = 401 ]; then drop_lab_token; fi
  [ "$code" = 200 ]
}
ovn_agent_alive() { # host
  ensure_lab_token && ncurl -m 5 "$API/agents?host=$1" | jq -e '[.agents[] | select(.agent_type=="OVN Controller agent" and .alive)] | length > 0' >/dev/null 2>&1
}
replace_if_changed() { # file (content on stdin): install it only if it differs;
  # returns 0 when the file was written, 1 when it was already like that
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat > "$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}
kuryr_keystone_auth() { # the keystoneauth options of the lab's kuryr user (kuryr.conf / zun.conf)
  cat <<CONF
auth_type = password
auth_url = $KS_API
username = kuryr
password = $KS_KURYR_PASSWORD
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = $KS_REGION
endpoint_type = public
CONF
}
stop_pid_group() { # name pidfile cmdline-substring: SIGTERM, wait up to 20 s, then SIGKILL the
  # process group (up.sh starts daemons with setsid: pgid = pid)
  local pid
  if pid=$(pid_of "$2") && pid_alive "$2" "$3"; then
    log "stopping $1 (pid $pid, process group $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 || warn "$1 still alive after 20s"
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || true
  fi
  rm -f "$2"
}
stop_neutron_server() { stop_pid_group neutron-server "$NEUTRON_PID" neutron-server; rm -f "$AUTH_FILE"; unrecord neutron-server; }
stop_keystone() { stop_pid_group keystone "$KEYSTONE_PID" uwsgi; drop_lab_token; unrecord keystone; }
docker_ok() { [ "$(curl -s -m 5 --unix-socket "$DOCKER_SOCK" http://localhost/_ping 2>/dev/null)" = OK ]; }
our_dockerd_running() { pid_alive "$DOCKERD_PID" dockerd; }
docker_version() { # socket: the engine's version ("28.5.2+dfsg4"), empty when it does not answer
  curl -s -m 5 --unix-socket "$1" http://localhost/version 2>/dev/null | jq -r '.Version // empty' 2>/dev/null || true
}
engine_of_pid() { # pid -> the KURYR_LAB_DOCKER value whose dockerd it runs (empty: another binary,
  # or that binary was replaced since: /proc/<pid>/exe then ends in " (deleted)")
  local exe v
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 0
  for v in "${DOCKER_VERSIONS[@]}"; do [ "$exe" != "$(engine_dockerd "$v")" ] || { echo "$v"; return 0; }; done
}
link_cli() { # ver: $CLI_DIR/docker -> that engine's client; removed when it is not on this machine
  mkdir -p "$CLI_DIR"
  if [ -n "$1" ] && [ -x "$(engine_cli "$1")" ]; then ln -sfn "$(engine_cli "$1")" "$CLI_DIR/docker"; else rm -f "$CLI_DIR/docker"; fi
}
stop_lab_dockerd() { # the dockerd up.sh started (SIGTERM its pid, SIGKILL after 20 s); its
  # containerd (a child) and shims follow, leftovers of those pids are killed
  local pid kids p
  if pid=$(pid_of "$DOCKERD_PID") && pid_alive "$DOCKERD_PID" dockerd; then
    # note its descendants (containerd, shims) before they get re-parented
    kids=$(descendants "$pid" | tr '\n' ' ')
    local -A kidcmd=()
    for p in $kids; do kidcmd[$p]=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true); done
    log "stopping dockerd (pid $pid; descendants: ${kids:-none})"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 20; then
      warn "dockerd still alive after 20s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    fi
    # containerd has Pdeathsig=SIGKILL and exits with dockerd; give the shims a
    # moment, then SIGKILL leftovers - only if the pid still runs the same command.
    for p in $kids; do
      wait_gone "$p" 5 && continue
      if [ "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true)" = "${kidcmd[$p]}" ]; then
        warn "killing leftover pid $p (${kidcmd[$p]})"; kill -KILL "$p" 2>/dev/null || true
      fi
    done
  fi
  rm -f "$DOCKERD_PID" "$ENGINE_FILE"
  link_cli ""
  unrecord dockerd
}
ovs_hostname() { ovs-vsctl --timeout=5 get Open_vSwitch . external_ids:hostname 2>/dev/null | tr -d '"'; }

# ------------------------------------------------------------------ summary
# lab_summary: one line per component: name, state, pid, whether this lab started
# it (listed in $STARTED) or found it running; plus kuryr (pid file written by
# lab/kuryr.sh) when lab/kuryr.sh exists. Returns 0 when all core components
# (ovs, postgres, ovn, keystone + API when Neutron runs behind it,
# neutron-server + API, dockerd + API) run; containerd and kuryr do not count.
lab_summary() {
  local rc=0 name pf rec pid state pg auth
  pg=$(pg_datadir)/postmaster.pid
  auth=$(lab_auth)
  printf '%-16s %-8s %-8s %s\n' COMPONENT STATE PID STARTED-BY
  while read -r name pf rec; do
    [ -n "$name" ] || continue
    if [ "$name" = dockerd ] && ! our_dockerd_running; then pf=/var/run/docker.pid; fi
    [ "$pf" = PG ] && pf=$pg
    if pid=$(pid_of "$pf") && alive "$pid"; then state=running; else state=DOWN; pid=-; fi
    if [ "$name" = keystone ] && [ "$state" = DOWN ] && [ "$auth" != keystone ]; then continue; fi
    if [ "$name" = keystone ] && [ "$state" = running ] && ! keystone_api_ok; then state=no-api; fi
    if [ "$name" = neutron-server ] && [ "$state" = running ] && ! neutron_api_ok; then state=no-api; fi
    if [ "$name" = dockerd ] && [ "$state" = running ] && ! docker_ok; then state=no-api; fi
    if [ "$name" = dockerd ] && [ "$state" = DOWN ] && docker_ok; then state=running; pid='?'; fi
    if [ "$state" != running ] && [ "$name" != containerd ] && [ "$name" != kuryr ] \
      && { [ "$name" != keystone ] || [ "$auth" = keystone ]; }; then rc=1; fi
    if [ "$name" = kuryr ]; then rec='lab/kuryr.sh (not core)'
    elif is_recorded "$rec"; then rec="lab ($rec)"
    elif [ "$state" = running ]; then rec=pre-existing
    else rec=-; fi
    printf '%-16s %-8s %-8s %s\n' "$name" "$state" "$pid" "$rec"
  done <<LIST
ovsdb-server $OVS_RUN/ovsdb-server.pid ovs
ovs-vswitchd $OVS_RUN/ovs-vswitchd.pid ovs
postgres PG postgres
ovn-nb-db $OVN_RUN/ovnnb_db.pid ovn-northd
ovn-sb-db $OVN_RUN/ovnsb_db.pid ovn-northd
ovn-northd $OVN_RUN/ovn-northd.pid ovn-northd
ovn-controller $OVN_RUN/ovn-controller.pid ovn-controller
keystone $KEYSTONE_PID keystone
neutron-server $NEUTRON_PID neutron-server
dockerd $DOCKERD_PID dockerd
containerd /var/run/docker/containerd/containerd.pid dockerd
$([ -f "$KURYR_SH" ] && echo "kuryr $RUN/kuryr.pid kuryr")
LIST
  return $rc
}
