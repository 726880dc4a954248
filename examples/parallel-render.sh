#!/bin/sh
# parallel-render.sh: what scripts/render-parallel does, by hand, with GNU
# parallel: render a script as N segments at once, then join them without
# re-encoding. Run from the repository root after `make`:
#
#   sh examples/parallel-render.sh [SCRIPT.lua] [OUT.mp4] [N]
#
# Across machines, give GNU parallel the hosts and run where every host sees
# the same folder (NFS or similar) holding vstudio, the script, its inputs
# and parts/:
#   parallel --sshlogin 4/alpha,4/beta --workdir . vstudio run ... ::: $(seq "$n")
set -eu
script=${1:-examples/plasma.lua}
out=${2:-plasma.mp4}
n=${3:-4}
vs=${VSTUDIO:-build/vstudio}

mkdir -p parts
# Segment {} of $n (numbered from 1); -j 2: two at a time on this machine.
parallel --halt now,fail=1 -j 2 "$vs" run "$script" --segment {}/"$n" -o parts/part-{}.mp4 ::: $(seq "$n")
# Join in segment order: stream copy, continuous timestamps, no re-encode.
"$vs" concat $(seq -f 'parts/part-%g.mp4' "$n") -o "$out"
rm -r parts
