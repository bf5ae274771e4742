#!/usr/bin/env bash
# The one provisioning step of pausetrace, used by the quickstart, by the test command
# (`sudo npm test` runs it as `pretest`) and by CI (.ci/run runs `npm test`). It installs,
# only when missing, the Debian packages that the tool and its tests need, mounts tracefs and
# installs the node modules, printing one line per step. A step CI needs can therefore never
# be missing for a person: both take it from here.
#
#   scripts/provision.sh                   what tracing needs (the quickstart)
#   scripts/provision.sh --tests           + the lab runtimes and the test tools (the test command)
#   scripts/provision.sh --bpftrace-versions  + bpftrace 0.23 and 0.27 in Debian chroots
#                                          (about 1 GB under /var/cache/pausetrace-ci; under
#                                          CI=true --tests implies it, since nothing may skip there)
#
# Run as root (sudo). Not as root it installs nothing, says so, and still installs the node
# modules, so that unit tests can run; end-to-end tests then skip loudly (or fail under CI=true).
# Nothing in /etc is edited: podman gets its settings through CONTAINERS_CONF in the lab.
set -euo pipefail
cd "$(dirname "$0")/.."

# What each group needs, and why (a package is listed where its first user is).
TRACE_PACKAGES=(
  bpftrace    # the kernel side
  util-linux  # unshare, nsenter, mountpoint: the lab sandbox of the quickstart
  procps
)
LAB_PACKAGES=(
  gcc libc6-dev   # the lab's own static pause and the C workloads
  busybox-static  # the root file system of lab containers (a static busybox)
  podman runc catatonit  # podman pods (the lab's podman runtime)
  iproute2        # network namespaces of lab sandboxes
)
TEST_PACKAGES=(
  tmux        # the live view tested in a real terminal
  strace      # ground truth for the workloads
  debootstrap # the bpftrace 0.23 / 0.27 chroots
  ca-certificates
  shellcheck  # the lab VM's provisioning scripts are checked offline
  vagrant     # the lab VM's Vagrantfile is validated offline (vagrant validate)
  # real CRI pod sandboxes: a private containerd (src/lab/containerd.ts; its CRI plugin is built
  # in) runs them with a bridge network from the CNI plugins (test/e2e/cri.test.ts)
  containerd
  containernetworking-plugins
)

tests=false
versions=false
for arg in "$@"; do
  case $arg in
    --tests) tests=true ;;
    --bpftrace-versions) versions=true ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "provision: unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done
if $tests && [ "${CI:-}" = true ]; then versions=true; fi

say() { printf 'provision: %s\n' "$*"; }
die() { printf 'provision: %s\n' "$*" >&2; exit 3; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
  local group=$1; shift
  local missing=()
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then
    say "$group: present ($*)"
    return
  fi
  say "$group: installing ${missing[*]} (apt-get)"
  if [ -z "${apt_updated:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  local log
  log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    die "$group: apt-get install ${missing[*]} failed (above: its last lines)"
  fi
  rm -f "$log"
}

node_modules() {
  if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    say "node modules: present"
  else
    say "node modules: npm ci"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed"
  fi
}

if [ "$(id -u)" -ne 0 ]; then
  say "not root: no system packages installed, tracefs not checked (end-to-end tests need root: sudo npm test)"
  node_modules
  exit 0
fi
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  die "this script installs Debian packages with apt-get; on another distribution install the packages listed at its top by hand"
fi

ensure_packages "tracing" "${TRACE_PACKAGES[@]}"
if $tests; then
  ensure_packages "lab runtimes" "${LAB_PACKAGES[@]}"
  ensure_packages "test tools" "${TEST_PACKAGES[@]}"
fi

# promtool (`promtool check metrics` on a scrape of --metrics) comes from Debian's prometheus
# package, unpacked under the cache directory and never installed: no Prometheus server is started.
ensure_promtool() {
  local root=${PAUSETRACE_CI_ROOT:-/var/cache/pausetrace-ci}
  local dest="$root/promtool"
  if [ -x "$dest/usr/bin/promtool" ]; then
    say "promtool: present ($dest/usr/bin/promtool)"
    return
  fi
  say "promtool: unpacking Debian's prometheus package under $dest (not installed: no server runs)"
  local tmp
  tmp=$(mktemp -d)
  ( cd "$tmp" && apt-get download prometheus >/dev/null 2>&1 ) ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq && ( cd "$tmp" && apt-get download prometheus >/dev/null ); } ||
    { rm -rf "$tmp"; die "promtool: apt-get download prometheus failed"; }
  mkdir -p "$dest"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$dest" || { rm -rf "$tmp"; die "promtool: dpkg-deb -x failed"; }
  rm -rf "$tmp"
  [ -x "$dest/usr/bin/promtool" ] || die "promtool: not in the prometheus package"
}
if $tests; then ensure_promtool; fi

if mountpoint -q /sys/kernel/tracing; then
  say "tracefs: mounted at /sys/kernel/tracing"
else
  mount -t tracefs nodev /sys/kernel/tracing || die "tracefs: mount -t tracefs nodev /sys/kernel/tracing failed"
  say "tracefs: mounted it at /sys/kernel/tracing"
fi

if $versions; then
  installed debootstrap || ensure_packages "chroot builder" debootstrap
  say "bpftrace 0.23 and 0.27: chroots under ${PAUSETRACE_CI_ROOT:-/var/cache/pausetrace-ci} (.ci/setup-bpftrace-versions.sh)"
  bash .ci/setup-bpftrace-versions.sh 2>&1 | sed 's/^/provision:   /' ||
    die "bpftrace chroots: .ci/setup-bpftrace-versions.sh failed (above)"
elif $tests; then
  root=${PAUSETRACE_CI_ROOT:-/var/cache/pausetrace-ci}
  if [ -x "$root/bpftrace-trixie" ] && [ -x "$root/bpftrace-sid" ]; then
    say "bpftrace 0.23 and 0.27: chroots present under $root"
  else
    say "bpftrace 0.23 and 0.27: NOT PROVISIONED, their tests will be SKIPPED; to run them: sudo scripts/provision.sh --bpftrace-versions (about 1 GB, 1-3 min)"
  fi
fi

node_modules
say "done"
