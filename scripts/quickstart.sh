#!/usr/bin/env bash
# npm run quickstart: bring the lab up (installs what is missing), then show
# kuryr-ts at work: a Docker network on Neutron, two containers on it, their
# Neutron ports (ACTIVE, bound to this host), a ping and an HTTP request
# between them through OVN. The demo objects are removed at the end; the lab
# keeps running (npm run lab:down stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash lab/up.sh

# lab/lib.sh: DOCKER_HOST, $API and ncurl (curl with the lab-admin Keystone token)
# shellcheck source=lab/lib.sh
. lab/lib.sh
ensure_lab_token || { echo "quickstart: no Keystone token for lab-admin" >&2; exit 1; }
NET=kuryr-demo A=kuryr-demo-a B=kuryr-demo-b
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() { docker rm -f "$A" "$B" >/dev/null 2>&1 || true; docker network rm "$NET" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

say "docker network create -d kuryr --ipam-driver kuryr --subnet 10.10.0.0/24 --gateway 10.10.0.1 $NET"
docker network create -d kuryr --ipam-driver kuryr --subnet 10.10.0.0/24 --gateway 10.10.0.1 "$NET"
NID=$(docker network inspect -f '{{.Id}}' "$NET")
NNET=$(ncurl "$API/networks?tags=kuryr.net.uuid.lh:${NID:0:32},kuryr.net.uuid.uh:${NID:32:32}" | jq -r '.networks[0].id')
echo "Neutron network $NNET (tagged with Docker network ${NID:0:12}…)"

say "docker run -d --name $A --net $NET kuryr/busybox sleep 600   (and $B: httpd)"
docker run -d --name "$A" --net "$NET" kuryr/busybox sleep 600 >/dev/null
docker run -d --name "$B" --net "$NET" kuryr/busybox httpd -f -p 8080 -h /etc >/dev/null
IPA=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$A")
IPB=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$B")
echo "$A: $IPA   $B: $IPB"

say "Neutron ports of network $NNET"
for _ in $(seq 1 50); do
  [ "$(ncurl "$API/ports?network_id=$NNET&device_owner=compute:kuryr&status=ACTIVE" | jq '.ports | length')" = 2 ] && break
  sleep 0.2
done
ncurl "$API/ports?network_id=$NNET" | jq -r '["PORT","IP","MAC","STATUS","HOST","VIF"], (.ports[] | [.id[0:13], .fixed_ips[0].ip_address, .mac_address, .status, ."binding:host_id", ."binding:vif_type"]) | @tsv' | column -t

say "docker exec $A ping -c 3 $IPB"
docker exec "$A" ping -c 3 -W 2 "$IPB"

say "docker exec $A wget -qO- http://$IPB:8080/hostname   (TCP through the OVN security group)"
docker exec "$A" wget -qO- -T 3 "http://$IPB:8080/hostname"

say "cleaning up the demo (docker rm -f, docker network rm)"
cleanup
trap - EXIT
left=$(ncurl "$API/ports?network_id=$NNET" | jq '.ports | length')
echo "Neutron ports left on $NNET: $left; network left: $(ncurl "$API/networks?id=$NNET" | jq '.networks | length')"
say "done: the lab keeps running (npm run lab:status, npm run lab:down)"
