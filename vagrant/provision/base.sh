#!/usr/bin/env bash
# Node basics for kubeadm: packages, no swap, the br_netfilter and overlay modules, forwarding,
# and tracefs mounted (bpftrace's tracepoints live there).
# Vagrant uploads this script alone; lib.sh comes with the repository, synced to /pausetrace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source /pausetrace/vagrant/provision/lib.sh

step "base packages"
apt-get update -q
apt_install ca-certificates curl gpg apt-transport-https rsync jq gcc libc6-dev busybox-static util-linux procps

step "swap off (the kubelet refuses to start with swap)"
swapoff -a
sed -i.pausetrace-lab.bak '/\sswap\s/ s/^#*/#/' /etc/fstab

step "kernel modules and sysctls for pod networking"
cat > /etc/modules-load.d/pausetrace-lab.conf <<'CONF'
overlay
br_netfilter
CONF
modprobe overlay
modprobe br_netfilter
cat > /etc/sysctl.d/90-pausetrace-lab.conf <<'CONF'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
CONF
sysctl --system >/dev/null

step "tracefs"
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
test -e /sys/kernel/btf/vmlinux || { echo "pausetrace-lab: this kernel has no BTF (/sys/kernel/btf/vmlinux); pausetrace needs it" >&2; exit 1; }
