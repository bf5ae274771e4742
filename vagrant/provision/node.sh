#!/usr/bin/env bash
# Node.js from NodeSource's repository for the pinned major (NodeSource keeps only recent patch
# builds, so only the major is pinned, and checked).
# Vagrant uploads this script alone; lib.sh comes with the repository, synced to /pausetrace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source /pausetrace/vagrant/provision/lib.sh
require NODE_MAJOR

step "Node.js ${NODE_MAJOR}"
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${NODE_MAJOR}.x nodistro main" > /etc/apt/sources.list.d/nodesource.list
cat > /etc/apt/preferences.d/nodesource <<CONF
Package: nodejs
Pin: origin deb.nodesource.com
Pin-Priority: 600
CONF
apt-get update -q
apt_install nodejs
version="$(node --version)"
case "$version" in
  "v${NODE_MAJOR}."*) echo "node ${version}" ;;
  *) echo "pausetrace-lab: node is ${version}, not ${NODE_MAJOR}.x" >&2; exit 1 ;;
esac
