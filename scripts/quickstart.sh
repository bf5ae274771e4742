#!/usr/bin/env bash
# Sets pausetrace up on a Debian/Ubuntu machine and runs its main job once:
#  - on a Kubernetes node (a kubelet's /var/log/pods exists): records the node's pod sandboxes
#    for 30 s and prints what happened;
#  - elsewhere: builds a small lab sandbox (fresh PID, net, IPC and UTS namespaces whose PID 1
#    has no SIGTERM handler), traces it live while the host sends it SIGTERM (which the kernel
#    drops: the reason pods hang through their grace period) and then SIGKILL, and prints it.
# Run as root from the project directory: sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "quickstart: $*" >&2; exit 3; }
[ "$(id -u)" -eq 0 ] || die "run it as root: sudo $0"
command -v node >/dev/null || die "Node.js 20.19 or newer is needed (https://nodejs.org, or your distribution's nodejs package if new enough)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  die "Node.js $(node --version) is too old: pausetrace needs 20.19 or newer"

bash scripts/provision.sh   # bpftrace, tracefs and the node modules, each only when missing
[ -f dist/commands/record.js ] || npm run build --silent

./bin/run.js doctor

work=$(mktemp -d /tmp/pausetrace-quickstart.XXXXXX)
trace="$work/trace.jsonl"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

if [ -d /var/log/pods ] && [ -n "$(ls -A /var/log/pods 2>/dev/null)" ]; then
  echo "quickstart: Kubernetes node found; recording its pod sandboxes for 30 s into $trace"
  ./bin/run.js record -o "$trace" --duration 30s
else
  echo "quickstart: no Kubernetes here; tracing a lab sandbox live into $trace"
  ./bin/run.js record -o "$trace" &
  rec=$!
  pids+=("$rec")
  until [ -s "$trace" ]; do
    kill -0 "$rec" 2>/dev/null || die "record stopped before it attached"
    sleep 0.1
  done
  unshare --pid --fork --net --ipc --uts --mount-proc --kill-child sleep 600 &
  sandbox=$!
  pids+=("$sandbox")
  pid1=""
  until [ -n "$pid1" ]; do sleep 0.1; pid1=$(tr -d ' ' < "/proc/$sandbox/task/$sandbox/children" 2>/dev/null); done
  sleep 0.2
  echo "quickstart: sandbox PID 1 is host PID $pid1; sending SIGTERM (it has no handler), then SIGKILL"
  kill -TERM "$pid1"
  sleep 1
  kill -0 "$pid1" && echo "quickstart: still alive after SIGTERM, as the kernel dropped it"
  kill -KILL "$pid1"
  wait "$sandbox" || true
  sleep 0.3
  kill -INT "$rec"
  wait "$rec"
fi
echo
echo "quickstart: what pausetrace saw ($trace):"
./bin/run.js replay "$trace"
