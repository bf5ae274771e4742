#!/usr/bin/env bash
# containerd from the Ubuntu archive, at the version the Vagrantfile pins, with the systemd cgroup
# driver (what kubeadm configures the kubelet with). The pause image is set by kubernetes.sh, once
# kubeadm can say which one it wants.
# Vagrant uploads this script alone; lib.sh comes with the repository, synced to /pausetrace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source /pausetrace/vagrant/provision/lib.sh
require CONTAINERD_VERSION

step "containerd ${CONTAINERD_VERSION}"
apt_install "containerd=${CONTAINERD_VERSION}"
apt-mark hold containerd

mkdir -p /etc/containerd
containerd config default > /etc/containerd/config.toml
sed -i 's/^\(\s*\)SystemdCgroup = false/\1SystemdCgroup = true/' /etc/containerd/config.toml
grep -q 'SystemdCgroup = true' /etc/containerd/config.toml || { echo "pausetrace-lab: could not set SystemdCgroup in /etc/containerd/config.toml" >&2; exit 1; }
systemctl restart containerd
systemctl enable containerd

step "crictl talks to containerd"
cat > /etc/crictl.yaml <<'CONF'
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
timeout: 10
CONF
