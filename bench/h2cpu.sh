#!/bin/bash
# CPU per request of a proxy over HTTP/2 with TLS, measured with h2load.
# usage: bench/h2cpu.sh NAME PORT N C M PATH PIDS...
#   runs h2load -n N -c C -m M https://127.0.0.1:PORT/PATH and prints req/s
#   and the CPU (utime+stime from /proc/PID/stat, summed over PIDS: for
#   nginx the master and its workers) per 2xx answer, with its user and
#   system parts, in microseconds.
name=$1 port=$2 n=$3 c=$4 m=$5 path=$6; shift 6
pids="$*"
ticks() { local u=0 s=0; for p in $pids; do set -- $(cut -d' ' -f14,15 /proc/$p/stat); u=$((u+$1)); s=$((s+$2)); done; echo $u $s; }
hz=$(getconf CLK_TCK)
read u0 s0 < <(ticks)
out=$(h2load -n $n -c $c -m $m https://127.0.0.1:$port$path 2>&1)
read u1 s1 < <(ticks)
rps=$(echo "$out" | awk '/^finished in/ {print $4}')
succ=$(echo "$out" | awk '/^status codes:/ {print $3}')
per() { echo "scale=1; $1*1000000/$hz/$succ" | bc; }
echo "$name rps=$rps 2xx=$succ cpu_us_per_req=$(per $((u1-u0+s1-s0))) user=$(per $((u1-u0))) sys=$(per $((s1-s0)))"
