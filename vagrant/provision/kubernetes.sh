#!/usr/bin/env bash
# A single-node cluster: kubelet, kubeadm and kubectl from pkgs.k8s.io at the pinned build (held),
# containerd told to use kubeadm's own pause image, `kubeadm init`, a bridge CNI (no manifest to
# download), the control-plane taint removed so that pods run here, kubectl for the vagrant user.
# Vagrant uploads this script alone; lib.sh comes with the repository, synced to /pausetrace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source /pausetrace/vagrant/provision/lib.sh
require K8S_MINOR K8S_VERSION LAB_IP POD_CIDR

step "kubelet, kubeadm, kubectl ${K8S_VERSION} (pkgs.k8s.io ${K8S_MINOR})"
install -d -m 0755 /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/${K8S_MINOR}/deb/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/${K8S_MINOR}/deb/ /" > /etc/apt/sources.list.d/kubernetes.list
apt-get update -q
apt_install "kubelet=${K8S_VERSION}" "kubeadm=${K8S_VERSION}" "kubectl=${K8S_VERSION}" kubernetes-cni cri-tools
apt-mark hold kubelet kubeadm kubectl

step "containerd runs kubeadm's pause image"
pause_image="$(kubeadm config images list --kubernetes-version "${K8S_VERSION%%-*}" 2>/dev/null | grep '/pause:')"
test -n "$pause_image" || { echo "pausetrace-lab: kubeadm named no pause image" >&2; exit 1; }
sed -i "s|^\(\s*\)sandbox_image = .*|\1sandbox_image = \"${pause_image}\"|" /etc/containerd/config.toml
grep -q "sandbox_image = \"${pause_image}\"" /etc/containerd/config.toml || { echo "pausetrace-lab: could not set sandbox_image" >&2; exit 1; }
systemctl restart containerd
echo "pause image: ${pause_image}"

step "kubelet on the lab network address"
echo "KUBELET_EXTRA_ARGS=--node-ip=${LAB_IP}" > /etc/default/kubelet
systemctl enable kubelet

if [ ! -f /etc/kubernetes/admin.conf ]; then
  step "kubeadm init"
  kubeadm init \
    --kubernetes-version "${K8S_VERSION%%-*}" \
    --apiserver-advertise-address "${LAB_IP}" \
    --pod-network-cidr "${POD_CIDR}" \
    --node-name "$(hostname)"
fi

step "pod network: one bridge, addresses from ${POD_CIDR}"
mkdir -p /etc/cni/net.d
cat > /etc/cni/net.d/10-pausetrace-lab.conflist <<CONF
{
  "cniVersion": "1.0.0",
  "name": "pausetrace-lab",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "${POD_CIDR}"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CONF

step "kubectl for root and vagrant; pods may run on this (only) node"
export KUBECONFIG=/etc/kubernetes/admin.conf
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.kube
install -m 0600 -o vagrant -g vagrant /etc/kubernetes/admin.conf /home/vagrant/.kube/config
install -d -m 0700 /root/.kube
install -m 0600 /etc/kubernetes/admin.conf /root/.kube/config
kubectl taint nodes --all node-role.kubernetes.io/control-plane- 2>/dev/null || true
kubectl wait --for=condition=Ready node --all --timeout=300s

step "the lab's images, pulled ahead"
sed -n 's/^\s*image:\s*//p' /pausetrace/vagrant/manifests/*.yaml | sort -u | while read -r image; do
  crictl pull "$image"
done
