#!/usr/bin/env bash
# Shared by the provisioning scripts (sourced, never run): strict mode, one log line per step,
# and a check that the versions the Vagrantfile pins were passed in.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n=== pausetrace-lab: %s\n' "$*"; }

# require VAR...: fails with the names of the variables the Vagrantfile did not pass.
require() {
  local missing=()
  local v
  for v in "$@"; do
    if [ -z "${!v:-}" ]; then missing+=("$v"); fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "pausetrace-lab: missing ${missing[*]} (set in vagrant/Vagrantfile, passed with env:)" >&2
    exit 2
  fi
}

apt_install() {
  apt-get install -y --no-install-recommends "$@"
}
