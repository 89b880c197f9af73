#!/usr/bin/env bash
# lab/status.sh - print each lab component (ovs, postgres, OVN, keystone,
# neutron-server, dockerd, containerd), whether it runs, its pid and whether
# up.sh started it, plus the auth mode, the Keystone and Neutron APIs, the OVN
# agent, the binding host, the Docker Engine (version, against KURYR_LAB_DOCKER,
# and its client). Runs `lab/kuryr.sh status` too when lab/kuryr.sh exists
# (informational only).
# The multi-host lab's hosts follow (`lab/hosts.sh status`, informational).
# Exit 0 when all core components run (ovs, postgres, OVN, keystone when Neutron
# runs behind it, neutron-server with its API answering, dockerd answering), 1
# otherwise. Usage: status.sh
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root

rc=0
lab_summary || rc=1
host=$(cat "$HOST_FILE" 2>/dev/null || ovs_hostname || true)
if [ "$(lab_auth)" = keystone ]; then
  if keystone_api_ok && ensure_lab_token; then echo "keystone: $KS_API ok (lab-admin token issued)"
  else echo "keystone: $KS_API NOT answering or no token for lab-admin"; rc=1; fi
fi
if neutron_api_ok; then
  if [ -n "$host" ] && ovn_agent_alive "$host"; then agent=alive; else agent=NOT-ALIVE; rc=1; fi
  echo "neutron API: $API ok (auth: $(lab_auth)); OVN Controller agent for host '${host:-?}': $agent"
else
  echo "neutron API: $API NOT answering"; rc=1
fi
if docker_ok; then
  running=$(docker_version "$DOCKER_SOCK")
  echo "docker: $DOCKER_SOCK ok (Docker Engine $running)"
  wanted="KURYR_LAB_DOCKER=$LAB_DOCKER"
  [ -n "${KURYR_LAB_DOCKER:-}" ] || wanted="$wanted (default)"
  if [ "$(engine_minor <<<"$running")" = "$LAB_DOCKER" ]; then note="as $wanted"
  elif our_dockerd_running; then note="$wanted differs: lab/up.sh would switch"
  else note="$wanted differs, but this dockerd is not the lab's: reused as it is"; fi
  echo "docker engine: $(cat "$ENGINE_FILE" 2>/dev/null || echo "$running (not recorded)"), $note; client $(command -v docker) ($(docker --version 2>/dev/null || echo '?'))"
else
  echo "docker: $DOCKER_SOCK NOT answering"; rc=1
fi
echo "binding:host_id: ${host:-?} ($HOST_FILE); started by the lab: $(tr '\n' ' ' < "$STARTED" 2>/dev/null || true)"
if [ -f "$KURYR_SH" ]; then
  echo "kuryr ($KURYR_SH status):"
  timeout 15 bash "$KURYR_SH" status 2>&1 | sed 's/^/  /' || true
fi
if [ -f "$LAB_DIR/zun.sh" ]; then echo "zun-api: $(timeout 15 bash "$LAB_DIR/zun.sh" status 2>&1 || true)"; fi
if [ -f "$LAB_DIR/hosts.sh" ]; then
  echo "multi-host lab ($LAB_DIR/hosts.sh status):"
  timeout 30 bash "$LAB_DIR/hosts.sh" status 2>&1 | sed 's/^/  /' || true
fi
exit $rc
