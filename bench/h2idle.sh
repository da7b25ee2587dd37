#!/bin/bash
# Memory per idle HTTP/2 connection of a proxy over TLS.
# usage: bench/h2idle.sh NAME PORT N PIDS...
#   warms the proxy with 200 GETs of /small, reads VmRSS (summed over PIDS:
#   for nginx its workers), holds N connections that each made one GET of
#   /small (bench/cmd/h2idle), reads VmRSS 2 s later, and prints the growth
#   per connection. Start each proxy fresh: freed memory stays in it.
name=$1 port=$2 n=$3; shift 3
pids="$*"
rss() { local s=0; for p in $pids; do s=$((s+$(awk '/^VmRSS/ {print $2}' /proc/$p/status))); done; echo $s; }
dir=$(mktemp -d)
trap 'rm -rf $dir' EXIT
(cd "$(dirname "$0")/.." && go build -o $dir/h2idle ./bench/cmd/h2idle) || exit 1
h2load -n 200 -c 4 https://127.0.0.1:$port/small >/dev/null 2>&1
sleep 1
before=$(rss)
$dir/h2idle -addr 127.0.0.1:$port -n $n > $dir/out 2>&1 &
client=$!
until grep -q '^idle' $dir/out || ! kill -0 $client 2>/dev/null; do sleep 0.2; done
sleep 2
after=$(rss)
kill -INT $client
wait $client
echo "$name rss_before_kB=$before rss_after_kB=$after per_conn_B=$(( (after-before)*1024/n )) $(cat $dir/out)"
