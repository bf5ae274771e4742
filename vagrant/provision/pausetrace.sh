#!/usr/bin/env bash
# pausetrace from the synced repository (/pausetrace): dependencies from the npm registry, built,
# installed as the global `pausetrace` command, and checked with `pausetrace doctor`.
# Vagrant uploads this script alone; lib.sh comes with the repository, synced to /pausetrace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source /pausetrace/vagrant/provision/lib.sh

step "pausetrace from /pausetrace"
cd /pausetrace
npm ci --no-audit --no-fund
npm run build
# A link to this tree, not a packed copy: the lab builds its helpers from src/lab/*.c on first use.
npm install -g --no-audit --no-fund /pausetrace
pausetrace --version

step "pausetrace doctor"
pausetrace doctor

step "smoke test: one lab exercise (builds the lab's pause and helper once)"
pausetrace lab pause-anatomy
