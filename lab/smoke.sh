#!/usr/bin/env bash
# lab/smoke.sh - end-to-end check of the running lab (adapted from the reference
# neutron-lab/smoke.sh), independent of the kuryr daemon:
#  Neutron data plane: network + subnet 10.10.0.0/24 + 2 ports (binding:host_id =
#   the OVN chassis host), 2 network namespaces plugged into br-int by veth (the
#   way Kuryr does it), both ports ACTIVE, ping both ways, the security group
#   really filters (port b in an SG without ingress rules => ping fails, adding an
#   icmp rule opens it), unplug => port DOWN.
#  Docker: two kuryr/busybox containers on Docker's default bridge ping each other.
# Cleans up everything it created (trap), whatever the outcome. Traffic goes only
# to 127.0.0.1 (API) and to the namespaces/containers it creates.
# Prints "N passed, N failed"; exit 0 = all checks passed.
# Usage: smoke.sh     Env: SMOKE_PREFIX (default 10.10.0), KURYR_LAB_API_PORT
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root

CIDR_PREFIX=${SMOKE_PREFIX:-10.10.0}
TAG=smoke-$$
HOST=$(cat "$HOST_FILE" 2>/dev/null || ovs_hostname)
PING=(ping); command -v ping >/dev/null 2>&1 || PING=(busybox ping)
NET='' SUBNET='' SG=''
PORTS=() NSS=() TAPS=() CTRS=()
fails=0 checks=0

say() { echo "[smoke] $*"; }
ok() { checks=$((checks + 1)); say "PASS: $*"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); say "FAIL: $*"; }
check() { # description command... : PASS if the command succeeds
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}
api() { # method path [json] -> body on stdout, fails on HTTP >= 400
  local m=$1 p=$2 d=${3:-} out code
  out=$(mktemp)
  if [ -n "$d" ]; then
    code=$(ncurl -o "$out" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' -d "$d" "$API$p")
  else
    code=$(ncurl -o "$out" -w '%{http_code}' -X "$m" "$API$p")
  fi
  cat "$out"; rm -f "$out"
  [ "$code" -lt 400 ] || { echo "[smoke] $m $p -> HTTP $code" >&2; return 1; }
}
valid() { [ -n "$1" ] && [ "$1" != null ]; }

cleanup() {
  set +e
  local t n p
  for p in "${CTRS[@]}"; do docker rm -f "$p" >/dev/null 2>&1; done
  for t in "${TAPS[@]}"; do ovs-vsctl --if-exists del-port br-int "$t"; ip link del "$t" 2>/dev/null; done
  for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
  for p in "${PORTS[@]}"; do valid "$p" && api DELETE "/ports/$p" >/dev/null; done
  valid "$SUBNET" && api DELETE "/subnets/$SUBNET" >/dev/null
  valid "$NET" && api DELETE "/networks/$NET" >/dev/null
  valid "$SG" && api DELETE "/security-groups/$SG" >/dev/null
  say "cleaned up"
}
trap cleanup EXIT

neutron_api_ok || die "Neutron API not reachable at $API (run lab/up.sh)"
say "binding host: $HOST"

# ------------------------------------------------------------ Neutron data plane
# NB: Zed rejects "tags" in a POST body ("Attribute 'tags' not allowed in POST");
# tags are added afterwards with PUT /<resource>/<id>/tags/<tag>.
NET=$(api POST /networks "{\"network\":{\"name\":\"$TAG\"}}" | jq -r .network.id)
api PUT "/networks/$NET/tags/$TAG" >/dev/null
SUBNET=$(api POST /subnets "{\"subnet\":{\"network_id\":\"$NET\",\"ip_version\":4,\"cidr\":\"$CIDR_PREFIX.0/24\",\"name\":\"$TAG\"}}" | jq -r .subnet.id)
say "network $NET subnet $SUBNET"
if [ "$(api GET "/networks?tags=$TAG&fields=id" | jq -r '.networks[0].id')" = "$NET" ]; then
  ok "tag filter finds the network"; else bad "tag filter"; fi

declare -A PID MAC IP TAP
for n in a b; do
  body=$(api POST /ports "{\"port\":{\"network_id\":\"$NET\",\"name\":\"$TAG-$n\",\"binding:host_id\":\"$HOST\",\"device_owner\":\"compute:kuryr\",\"device_id\":\"$TAG-$n\"}}")
  PID[$n]=$(jq -r .port.id <<<"$body"); PORTS+=("${PID[$n]}")
  MAC[$n]=$(jq -r .port.mac_address <<<"$body")
  IP[$n]=$(jq -r '.port.fixed_ips[0].ip_address' <<<"$body")
  vif=$(jq -r '.port["binding:vif_type"]' <<<"$body")
  if [ "$vif" = ovs ]; then ok "port $n bound: vif_type=ovs"; else bad "port $n vif_type=$vif (want ovs)"; fi
  TAP[$n]=tap${PID[$n]:0:11}
  ns=$TAG-$n
  ip netns add "$ns"; NSS+=("$ns")
  ip link add "${TAP[$n]}" type veth peer name "sm$$$n"; TAPS+=("${TAP[$n]}")
  ip link set "sm$$$n" netns "$ns"
  ip -n "$ns" link set "sm$$$n" name eth0
  ip -n "$ns" link set eth0 address "${MAC[$n]}"
  ip -n "$ns" addr add "${IP[$n]}/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ovs-vsctl add-port br-int "${TAP[$n]}" -- set Interface "${TAP[$n]}" \
    external_ids:iface-id="${PID[$n]}" external_ids:attached-mac="${MAC[$n]}" \
    external_ids:iface-status=active external_ids:vm-uuid="$TAG-$n"
  ip link set "${TAP[$n]}" up
  say "port $n ${PID[$n]} mac ${MAC[$n]} ip ${IP[$n]} -> $ns / ${TAP[$n]}"
done

wait_status() { # port want timeout_s -> tenths of seconds waited
  local s t=0
  while :; do
    s=$(api GET "/ports/$1?fields=status" | jq -r .port.status)
    [ "$s" = "$2" ] && { echo "$t"; return 0; }
    [ "$t" -ge "$(($3 * 10))" ] && { echo "timeout($s)"; return 1; }
    sleep 0.1; t=$((t + 1))
  done
}
secs() { awk -v r="$1" 'BEGIN{printf "%.1f", r/10}'; }
for n in a b; do
  if r=$(wait_status "${PID[$n]}" ACTIVE 30); then ok "port $n ACTIVE after $(secs "$r")s"; else bad "port $n not ACTIVE: $r"; fi
done

check "ping a -> b (${IP[b]})" ip netns exec "$TAG-a" "${PING[@]}" -c 3 -W 2 "${IP[b]}"
check "ping b -> a (${IP[a]})" ip netns exec "$TAG-b" "${PING[@]}" -c 3 -W 2 "${IP[a]}"

# Security group enforcement: an SG with only the default egress rules on port b.
SG=$(api POST /security-groups "{\"security_group\":{\"name\":\"$TAG-noingress\"}}" | jq -r .security_group.id)
api PUT "/ports/${PID[b]}" "{\"port\":{\"security_groups\":[\"$SG\"]}}" >/dev/null
sleep 1
if ip netns exec "$TAG-a" "${PING[@]}" -c 2 -W 1 "${IP[b]}" >/dev/null 2>&1; then
  bad "SG not enforced (ping a -> b passed)"; else ok "SG enforced: ping a -> b blocked without ingress rule"; fi
api POST /security-group-rules "{\"security_group_rule\":{\"security_group_id\":\"$SG\",\"direction\":\"ingress\",\"ethertype\":\"IPv4\",\"protocol\":\"icmp\"}}" >/dev/null
sleep 1
check "SG rule (ingress icmp) opens ping a -> b" ip netns exec "$TAG-a" "${PING[@]}" -c 2 -W 2 "${IP[b]}"

# unplug b -> DOWN
ovs-vsctl del-port br-int "${TAP[b]}"
if r=$(wait_status "${PID[b]}" DOWN 30); then ok "port b DOWN after unplug ($(secs "$r")s)"; else bad "port b not DOWN after unplug: $r"; fi

# ------------------------------------------------- Docker default bridge network
if docker_ok && docker image inspect kuryr/busybox:latest >/dev/null 2>&1; then
  for n in a b; do
    docker run -d --name "$TAG-$n" --label kuryr-lab=smoke kuryr/busybox:latest sleep 120 >/dev/null
    CTRS+=("$TAG-$n")
  done
  ipb=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$TAG-b")
  if valid "$ipb"; then
    check "docker bridge: container a -> container b ($ipb)" docker exec "$TAG-a" ping -c 2 -W 2 "$ipb"
  else
    bad "docker bridge: container b has no IP address"
  fi
else
  bad "docker not answering or image kuryr/busybox missing (run lab/up.sh)"
fi

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
