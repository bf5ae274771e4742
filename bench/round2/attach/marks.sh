#!/bin/bash
# Pausetrace's share of the time to attached, from DEBUG=pausetrace:start: two trees (BASE with the
# marks only, NEW) alternating, record --all and the default scope, N rounds. Run as root.
# usage: marks.sh N BASE_TREE NEW_TREE
for i in $(seq 1 $N); do
  for scope in all default; do
    for t in base new; do
      d=$2; [ $t = new ] && d=$3
      f=/tmp/marks-$t.jsonl; rm -f $f
      extra=""; [ $scope = all ] && extra="--all"
      out=$(cd $d && DEBUG=pausetrace:start node bin/run.js record $extra -o $f --duration 0.3s 2>&1 | grep 'pausetrace: start')
      sp=$(echo "$out" | grep 'bpftrace spawned' | awk '{print $3}' | tr -d +)
      be=$(echo "$out" | grep 'BEGIN line' | awk '{print $3}' | tr -d +)
      he=$(echo "$out" | grep 'header written' | awk '{print $3}' | tr -d +)
      fl=$(echo "$out" | grep 'flags parsed' | awk '{print $3}' | tr -d +)
      echo "$t $scope flags=$fl spawn=$sp compile=$(echo "$be - $sp" | bc) after=$(echo "$he - $be" | bc) header=$he"
    done
  done
done
