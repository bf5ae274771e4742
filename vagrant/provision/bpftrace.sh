#!/usr/bin/env bash
# bpftrace from the Ubuntu archive (0.20 on 24.04), checked to run and to attach a tracepoint.
# Vagrant uploads this script alone; lib.sh comes with the repository, synced to /pausetrace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source /pausetrace/vagrant/provision/lib.sh
require BPFTRACE_VERSION

step "bpftrace ${BPFTRACE_VERSION}"
apt_install "bpftrace=${BPFTRACE_VERSION}"
apt-mark hold bpftrace
bpftrace --version
timeout 60 bpftrace -e 'tracepoint:signal:signal_generate { exit(); } BEGIN { printf("attached\n"); }' -c '/bin/true' >/dev/null
