#!/bin/bash
# Node CPU per event of watch (Ink, 160x48 tmux pane, --record) or record, by hand: utime+stime of node
# from /proc between the trace file's first line and 1 s after the workload, divided by the footer's events.
# Run as root from anywhere; BENCHWORK is the bench's compiled workload (bench/.build/benchwork).
# usage: watch-cpu.sh TREE watch|record CHURN CHECKS   (the runs below: CHURN 60000, CHECKS 150000)
TREE=$1; MODE=$2; C=$3; K=$4
OUT=$(mktemp -d /tmp/wcpu.XXXX); F=$OUT/t.jsonl; SOCK=wcpu$$
if [ "$MODE" = watch ]; then CMD="node bin/run.js watch --all --record $F"; else CMD="node bin/run.js record --all -o $F"; fi
tmux -L $SOCK -f /dev/null new-session -d -x 160 -y 48 -s w "cd $TREE && $CMD 2>$OUT/err"
PANE=$(tmux -L $SOCK display-message -p -t w '#{pane_pid}')
for i in $(seq 1 400); do [ -s $F ] && break; sleep 0.05; done
NODE=$(pgrep -P $PANE node)
cpu() { awk '{print $14+$15}' /proc/$NODE/stat; }
C0=$(cpu); T0=$(date +%s.%N)
${BENCHWORK:-$(dirname "$0")/../../.build/benchwork} mix $C $K >/dev/null
sleep 1
C1=$(cpu); T1=$(date +%s.%N)
if [ "$MODE" = watch ]; then tmux -L $SOCK send-keys -t w q; else kill -INT $NODE; fi
for i in $(seq 1 300); do kill -0 $NODE 2>/dev/null || break; sleep 0.1; done
tmux -L $SOCK kill-server 2>/dev/null
EV=$(tail -1 $F | grep -o '"events":[0-9]*' | cut -d: -f2)
TCK=$(getconf CLK_TCK)
echo "$MODE $(basename $TREE) cpu_ms=$(( (C1-C0)*1000/TCK )) wall_s=$(echo "$T1-$T0" | bc | cut -c1-5) events=$EV us_per_event=$(echo "scale=1; ($C1-$C0)*1000000/$TCK/$EV" | bc)"
rm -rf $OUT
