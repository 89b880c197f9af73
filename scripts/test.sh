#!/usr/bin/env bash
# npm test: every test of the project, on a fresh machine of this kind.
#   1. npm ci if needed, build (tsc) and lint (eslint + tsc --noEmit);
#   2. brings the lab up when it is not fully running (lab/up.sh: apt packages,
#      OVS/OVN/Neutron/PostgreSQL/Docker, test images, kuryr daemon) and, in that
#      case, stops exactly what it started at the end (lab/down.sh, by pid);
#      a lab that runs another Docker Engine than KURYR_LAB_DOCKER (default 28.5)
#      is switched to it first, and switched back at the end;
#   3. runs the integration tests (real Docker + Neutron + OVS) on that engine:
#      two node:test runs at once (the files split below so that nothing in one
#      stream disturbs the other), then the files that must run alone, with the
#      unit tests (fakes, no lab) beside them; KURYR_TEST_STREAMS=1: one run of
#      everything, one file after another;
#   4. the fault injection suite (test/faults: kill -9 of the driver during churn
#      and in a burst, Neutron and Keystone not answering, a revoked token, dockerd
#      and ovs-vswitchd restarted by pid, fuzzed plugin requests; docs/faults.md) on
#      that engine, at npm test's scale (100 operations in the kill -9 churn, eight at
#      once, a kill every 10-20 s; 16 containers in the burst, 10 s outages, 2,000
#      fuzzed requests; the committed
#      report is `npm run test:faults`' full scale), within KURYR_TEST_FAULTS_TIMEOUT
#      seconds (default 1200); its report goes to dist/faults-report/
#      (KURYR_FAULTS_* knobs scale it; KURYR_FAULTS=0 skips it);
#   5. the Docker Engine matrix: for each other engine (KURYR_TEST_DOCKER_MATRIX,
#      default: the engines of lab/lib.sh but KURYR_LAB_DOCKER, i.e. "20.10 26.1";
#      0 = none) it switches the lab's dockerd (KURYR_LAB_DOCKER=<ver> lab/up.sh)
#      and runs the driver's core integration tests (skeleton, parity, port-pool,
#      exposure) again (two at once), each engine within KURYR_TEST_ENGINE_TIMEOUT
#      seconds (default 420).
#   From 4 on, beside them (it needs no lab), Node.js 24 (scripts/node24.sh: Node 24
#   and a better-sqlite3 built for it, installed once from the npm registry into
#   /var/cache/kuryr-ts/node24) runs the unit tests and a daemon smoke test, within
#   KURYR_TEST_NODE24_TIMEOUT seconds (default 900; KURYR_TEST_NODE24=0 skips it,
#   --integration too); its log is printed after the matrix.
#   A header per engine, a summary line per engine, one exit code (0 only when
#   every run passed) and a closing "total: N passed, N failed" line (an engine
#   whose run timed out or could not start counts as one failure there).
# Needs root (the lab and the data plane do). KURYR_TEST_UNIT_ONLY=1 skips 2-5 and
# the integration tests (for machines without root).
# --integration (npm run test:integration): the integration tests only (and the matrix).
set -euo pipefail
cd "$(dirname "$0")/.."
UNIT="packages/*/dist/test/unit/*.test.js dist/bench/test/*.test.js"
if [ "${1:-}" = --integration ]; then UNIT=""; fi   # npm run test:integration

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
npm run --silent lint

if [ "${KURYR_TEST_UNIT_ONLY:-0}" = 1 ]; then
  exec node --test --test-concurrency=1 $UNIT
fi

[ "$(id -u)" = 0 ] || { echo "npm test: the integration tests need root (or set KURYR_TEST_UNIT_ONLY=1)" >&2; exit 1; }

# ------------------------------------------------------------------ engines
PRIMARY=$(bash lab/engine.sh wanted)          # KURYR_LAB_DOCKER or the default; exits on a bad value
export KURYR_LAB_DOCKER=$PRIMARY
MATRIX=${KURYR_TEST_DOCKER_MATRIX:-$(bash lab/engine.sh list)}
[ "$MATRIX" != 0 ] || MATRIX=
ENGINE_TIMEOUT=${KURYR_TEST_ENGINE_TIMEOUT:-420}
CORE=(dist/test/integration/{parity,exposure,skeleton,port-pool}.test.js)   # with streams: the first two, the last two at once
# The integration files of the primary engine's run go into two streams that run at once (KURYR_TEST_STREAMS=1:
# one run, one file after another), then the files of ALONE, one at a time with nothing beside them.
STREAMS=${KURYR_TEST_STREAMS:-2}
case $STREAMS in 1|2) ;; *) echo "npm test: KURYR_TEST_STREAMS=$STREAMS: want 1 or 2" >&2; exit 2 ;; esac
# Alone: a host-wide `kuryr reconcile` with a short grace period (it would take another test's half-made port for
# a leftover), or the lab's dockerd and daemon stopped and started (boot order).
ALONE_NAMES=(reconcile cni-kill boot-order)
# The first stream; every other file goes to the second (node:test runs a run's files in path order). Files that
# use the two-host lab (lab/hosts.sh: multihost, zun-multihost, cni-more) share a stream: the first to end would
# stop the hosts under the others. In a stream, no file may stop a shared service, count the lab daemon's calls,
# or use a CIDR, TCP port or name that a file of the other stream uses.
FIRST_NAMES=(installed zun-multihost multihost cni-more port-pool port-pool-kill parity neutron-late docker28 exposure tagless observability doctor spec-swap tag-creation keystone)
integration_files() { ls dist/test/integration/*.test.js packages/zun/dist/test/integration/*.test.js 2>/dev/null; }
split_files() { # stdin: integration files -> FIRST, SECOND, ALONE (space-separated)
  local f n first=() second=() alone=()
  while IFS= read -r f; do
    n=$(basename "$f" .test.js)
    case " ${FIRST_NAMES[*]} " in *" $n "*) first+=("$f"); continue ;; esac
    case " ${ALONE_NAMES[*]} " in *" $n "*) alone+=("$f"); continue ;; esac
    second+=("$f")
  done
  FIRST=${first[*]}; SECOND=${second[*]}; ALONE=${alone[*]}
}
# the client of the running engine (lab/up.sh keeps this link) before any other `docker`
export PATH=/run/kuryr-lab/bin:$PATH
LOGS=$(mktemp -d /tmp/kuryr-test.XXXXXX)
SUMMARY=()
TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
rc=0

header() { printf '\n%s\n== %s\n%s\n' "$(printf '=%.0s' {1..78})" "$1" "$(printf '=%.0s' {1..78})"; }
count() { # log key -> the sum of node:test's "# key N" (TAP) / "ℹ key N" (spec) lines
  awk -v k="$2" '($1 == "#" || $1 == "ℹ") && $2 == k && $3 ~ /^[0-9]+$/ {n += $3} END {print n + 0}' "$1"
}
engine_now() { bash lab/engine.sh running 2>/dev/null || true; }  # e.g. 28.5
engine_full() { bash lab/engine.sh version 2>/dev/null || true; }  # e.g. 28.5.2+dfsg4
account() { # label log exit-code t0 limit [end] : the SUMMARY line and the totals of one node:test run
  local label=$1 log=$2 r=$3 t0=$4 limit=$5 end=${6:-$(date +%s)} p f s
  p=$(count "$log" pass); f=$(( $(count "$log" fail) + $(count "$log" cancelled) )); s=$(count "$log" skipped)
  TOTAL_PASS=$((TOTAL_PASS + p)); TOTAL_FAIL=$((TOTAL_FAIL + f)); TOTAL_SKIP=$((TOTAL_SKIP + s))
  if [ "$r" = 124 ] || [ "$r" = 137 ]; then
    SUMMARY+=("$label: TIMED OUT after ${limit}s ($p passed, $f failed before)"); rc=1
    TOTAL_FAIL=$((TOTAL_FAIL + 1))
  elif [ "$r" != 0 ]; then
    SUMMARY+=("$label: FAILED (exit $r; $p passed, $f failed, $s skipped; $((end - t0))s)"); rc=1
  else
    SUMMARY+=("$label: ok ($p passed, $s skipped; $((end - t0))s)")
  fi
}
node_test() { # timeout(0 = none) node-test-args... : node:test, one file after another
  local limit=$1
  shift
  if [ "$limit" = 0 ]; then
    node --test --test-concurrency=1 --test-timeout=600000 "$@"
  else
    timeout -k 15 "$limit" node --test --test-concurrency=1 --test-timeout=600000 "$@"
  fi
}
run_tests() { # label log timeout(0 = none) node-test-args... : one node:test run, its output shown as it goes; its result in SUMMARY
  local label=$1 log=$2 limit=$3 t0 r
  shift 3
  t0=$(date +%s)
  set +e
  node_test "$limit" "$@" 2>&1 | tee "$log"
  r=${PIPESTATUS[0]}
  set -e
  account "$label" "$log" "$r" "$t0" "$limit"
}
run_streams() { # timeout(0 = none) label1 log1 files1 label2 log2 files2 ... : node:test runs at once (files: one word,
  # space-separated); each one's output is shown when it ends (a line of progress a minute meanwhile); results in SUMMARY
  local limit=$1 i pids=() labels=() logs=() t0 r alive
  shift
  t0=$(date +%s)
  while [ $# -ge 3 ]; do
    labels+=("$1"); logs+=("$2")
    # shellcheck disable=SC2086  # the file list is split on purpose
    { set +e; node_test "$limit" $3 >"$2" 2>&1; echo $? >"$2.rc"; date +%s >"$2.end"; } &
    pids+=($!)
    shift 3
  done
  while :; do
    alive=0
    for i in "${!pids[@]}"; do kill -0 "${pids[$i]}" 2>/dev/null && alive=$((alive + 1)); done
    [ $alive -gt 0 ] || break
    sleep 5
    if [ $(( ($(date +%s) - t0) % 60 )) -lt 5 ]; then
      for i in "${!pids[@]}"; do
        printf 'npm test: %s: %d ok, %d not ok so far (%ds)\n' "${labels[$i]}" "$(grep -c '^ok ' "${logs[$i]}" || true)" "$(grep -c '^not ok ' "${logs[$i]}" || true)" $(( $(date +%s) - t0 ))
      done
    fi
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || true
    r=$(cat "${logs[$i]}.rc" 2>/dev/null || echo 1)
    header "${labels[$i]}"
    cat "${logs[$i]}"
    account "${labels[$i]}" "${logs[$i]}" "$r" "$t0" "$limit" "$(cat "${logs[$i]}.end" 2>/dev/null || date +%s)"
  done
}
bg_start() { # name log command... : a run beside the others, output only into log
  { set +e; "${@:3}" >"$2" 2>&1; echo $? >"$2.rc"; date +%s >"$2.end"; } &
  BG_PIDS+=($!); BG_NAMES+=("$1"); BG_LOGS+=("$2"); BG_T0+=("$(date +%s)")
}
bg_wait() { # name : waits for that background run; its exit code, start and end (s) in BG_RC, BG_STARTED, BG_ENDED
  local i
  BG_RC=1 BG_STARTED=$(date +%s) BG_ENDED=$(date +%s)
  for i in "${!BG_NAMES[@]}"; do
    [ "${BG_NAMES[$i]}" = "$1" ] || continue
    wait "${BG_PIDS[$i]}" || true
    BG_RC=$(cat "${BG_LOGS[$i]}.rc" 2>/dev/null || echo 1)
    BG_STARTED=${BG_T0[$i]}
    BG_ENDED=$(cat "${BG_LOGS[$i]}.end" 2>/dev/null || date +%s)
  done
}
BG_PIDS=() BG_NAMES=() BG_LOGS=() BG_T0=()
node24_start() { # log timeout : scripts/node24.sh all in the background (it needs no lab: it runs beside the lab's runs)
  bg_start node24 "$1" timeout -k 15 "$2" bash scripts/node24.sh all
}
node24_finish() { # log timeout : waits for node24_start's run; its log, and its closing "node24: N passed, N failed, N skipped" line into SUMMARY
  local log=$1 limit=$2 t0 end r line p f s v label
  bg_wait node24
  r=$BG_RC t0=$BG_STARTED end=$BG_ENDED
  cat "$log"
  v=$(grep -om1 'v24\.[0-9.]*' "$log" || true)
  label="Node.js 24${v:+ ($v)}, unit tests + daemon smoke test"
  line=$(grep -E '^node24: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    if [ "$r" = 124 ] || [ "$r" = 137 ]; then SUMMARY+=("$label: TIMED OUT after ${limit}s"); else SUMMARY+=("$label: NOT RUN (scripts/node24.sh exit $r before the tests)"); fi
    TOTAL_FAIL=$((TOTAL_FAIL + 1)); rc=1; return
  fi
  read -r p f s < <(sed -E 's/^node24: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$line")
  TOTAL_PASS=$((TOTAL_PASS + p)); TOTAL_FAIL=$((TOTAL_FAIL + f)); TOTAL_SKIP=$((TOTAL_SKIP + s))
  if [ "$r" != 0 ]; then
    SUMMARY+=("$label: FAILED (exit $r; $p passed, $f failed, $s skipped; $((end - t0))s)"); rc=1
  else
    SUMMARY+=("$label: ok ($p passed, $s skipped; $((end - t0))s)")
  fi
}

# ---------------------------------------------------------------------- lab
BEFORE=$(engine_now)   # the engine a running lab answers with ("" when down)
brought_up=0
finish() {
  local e=$?
  if [ $brought_up = 1 ]; then
    echo "npm test: stopping what the tests started (lab/down.sh)"; bash lab/down.sh || e=1
  elif [ -n "$BEFORE" ] && [ "$(engine_now)" != "$BEFORE" ]; then
    echo "npm test: switching the lab back to Docker $BEFORE (lab/up.sh)"
    KURYR_LAB_DOCKER=$BEFORE bash lab/up.sh || { echo "npm test: could not switch the lab back to Docker $BEFORE" >&2; e=1; }
  fi
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$LOGS"
  exit $e
}
trap finish EXIT
if ! bash lab/status.sh >/dev/null 2>&1 || ! bash lab/kuryr.sh status >/dev/null 2>&1; then
  echo "npm test: the lab is not (fully) running: bringing it up (lab/up.sh, Docker $PRIMARY)"
  brought_up=1
  # CI (CI=true) or KURYR_TEST_FRESH=1: empty Neutron, OVN and Keystone databases, so that nothing an
  # earlier run on this machine left behind (a killed run, a failed test) changes this one
  if [ "${CI:-}" = true ] || [ "${KURYR_TEST_FRESH:-0}" = 1 ]; then bash lab/up.sh --fresh; else bash lab/up.sh; fi
else
  if [ "$BEFORE" != "$PRIMARY" ]; then
    echo "npm test: the lab runs Docker ${BEFORE:-?}: switching it to $PRIMARY (lab/up.sh; switched back at the end)"
    bash lab/up.sh
  fi
fi
# the daemon must run the code under test (up.sh keeps a daemon that already runs, maybe from another tree)
bash lab/kuryr.sh restart
# and zun-api (restarted only when its built code or zun.conf changed; registers it in Keystone's catalog)
bash lab/zun.sh start

# ------------------------------------------------------------------ the runs
header "Docker Engine $PRIMARY ($(engine_full)): ${UNIT:+unit and }integration tests, all"
if [ "$(engine_now)" != "$PRIMARY" ]; then
  echo "npm test: the lab's Docker answers as $(engine_now), not $PRIMARY (a dockerd the lab did not start?)"
fi
split_files < <(integration_files)
if [ "$STREAMS" = 1 ]; then
  # shellcheck disable=SC2086  # $UNIT is a glob (or empty), the lists are split on purpose
  run_tests "Docker $PRIMARY ($(engine_full)), all tests" "$LOGS/all.log" 0 $UNIT $FIRST $SECOND $ALONE
else
  echo "npm test: two streams at once (scripts/test.sh says which file goes where), then $ALONE one at a time${UNIT:+ with the unit tests beside them}"
  run_streams 0 "Docker $PRIMARY ($(engine_full)), stream 1" "$LOGS/all-1.log" "$FIRST" \
    "Docker $PRIMARY ($(engine_full)), stream 2" "$LOGS/all-2.log" "$SECOND"
  # the unit tests need no lab: beside the tests that run alone (they leave the host's veths, Docker and Neutron alone)
  # shellcheck disable=SC2086
  [ -z "$UNIT" ] || bg_start unit "$LOGS/unit.log" node_test 0 $UNIT
  header "Docker Engine $PRIMARY: the integration tests that run alone"
  # shellcheck disable=SC2086
  run_tests "Docker $PRIMARY ($(engine_full)), tests run alone" "$LOGS/alone.log" 0 $ALONE
  if [ -n "$UNIT" ]; then
    bg_wait unit
    header "Unit tests (Node.js $(node -v), run beside the tests that ran alone)"
    cat "$LOGS/unit.log"
    account "Node.js $(node -v), unit tests" "$LOGS/unit.log" "$BG_RC" "$BG_STARTED" 0 "$BG_ENDED"
  fi
fi

# Node.js 24 needs no lab: it runs beside the fault suite (mostly waits: outages, grace periods) or the matrix
NODE24=0
if [ -n "$UNIT" ] && [ "${KURYR_TEST_NODE24:-1}" != 0 ]; then NODE24=1; node24_start "$LOGS/node24.log" "${KURYR_TEST_NODE24_TIMEOUT:-900}"; fi

if [ "${KURYR_FAULTS:-1}" = 1 ]; then
  header "Docker Engine $PRIMARY: fault injection (test/faults, seed ${KURYR_FAULTS_SEED:-kuryr-faults})"
  export KURYR_FAULTS_RESULTS=$LOGS/faults
  # npm test's scale (every scenario, every figure, fewer containers and requests and a shorter
  # grace period, which each scenario waits out before its reconcile, to keep the whole run well
  # under 30 minutes); `npm run test:faults` runs the full scale of docs/faults.md and writes the
  # committed report. A knob set by the caller wins. The outage keeps
  # the full scale's 30 s: a docker run fails only once a create timed out ([neutron] timeout, 5 s
  # for the outage scenarios' daemons) and so did the lookup after it (three reads), about 23 s with
  # slack, and a shorter outage can end before that.
  export KURYR_FAULTS_BURST=${KURYR_FAULTS_BURST:-16} KURYR_FAULTS_OUTAGE_S=${KURYR_FAULTS_OUTAGE_S:-30} \
    KURYR_FAULTS_FUZZ=${KURYR_FAULTS_FUZZ:-2000} KURYR_FAULTS_FUZZ_FLOWS=${KURYR_FAULTS_FUZZ_FLOWS:-8} \
    KURYR_FAULTS_KILL_GAP_S=${KURYR_FAULTS_KILL_GAP_S:-20} KURYR_FAULTS_CHURN_WORKERS=${KURYR_FAULTS_CHURN_WORKERS:-8} \
    KURYR_FAULTS_GRACE_S=${KURYR_FAULTS_GRACE_S:-4}
  run_tests "Docker $PRIMARY, fault injection" "$LOGS/faults.log" "${KURYR_TEST_FAULTS_TIMEOUT:-1200}" dist/test/faults/
  # the figures, with their targets: the run above already failed for any missed one
  node dist/test/faults/write-report.js --out dist/faults-report || true
fi

for v in $MATRIX; do
  [ "$v" != "$PRIMARY" ] || continue
  header "Docker Engine $v: core integration tests (${CORE[*]##*/})"
  t0=$(date +%s)
  if ! KURYR_LAB_DOCKER=$v bash lab/up.sh; then
    SUMMARY+=("Docker $v, core tests: NOT RUN (lab/up.sh with KURYR_LAB_DOCKER=$v failed)"); rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue
  fi
  if [ "$(engine_now)" != "$v" ]; then
    SUMMARY+=("Docker $v, core tests: NOT RUN (the lab's Docker answers as $(engine_now): not a dockerd the lab started)"); rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue
  fi
  echo "npm test: switched to Docker $v in $(( $(date +%s) - t0 ))s"
  export KURYR_LAB_DOCKER=$v   # lab/hosts.sh and the like follow the running engine
  if [ "$STREAMS" = 1 ]; then
    run_tests "Docker $v ($(engine_full)), core tests" "$LOGS/core-$v.log" "$ENGINE_TIMEOUT" "${CORE[@]}"
  else
    run_streams "$ENGINE_TIMEOUT" "Docker $v ($(engine_full)), core tests 1" "$LOGS/core-$v-1.log" "${CORE[*]:0:2}" \
      "Docker $v ($(engine_full)), core tests 2" "$LOGS/core-$v-2.log" "${CORE[*]:2}"
  fi
done

if [ $NODE24 = 1 ]; then
  header "Node.js 24: unit tests and a daemon smoke test (scripts/node24.sh, run beside the fault suite and the matrix)"
  node24_finish "$LOGS/node24.log" "${KURYR_TEST_NODE24_TIMEOUT:-900}"
fi

header "Summary"
printf '%s\n' "${SUMMARY[@]}"
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
[ $rc = 0 ] || exit 1
