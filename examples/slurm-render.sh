#!/bin/sh
# slurm-render.sh: render a vstudio script as a Slurm job array, one segment
# per array task, then join the segments losslessly in a dependent job.
#
#   sh examples/slurm-render.sh [SBATCH OPTIONS...] SCRIPT.lua OUT.mp4 [N] [RUN OPTIONS...]
#
# submits `--array=1-N` render tasks (task K runs `vstudio run SCRIPT
# --segment K/N`) and a join job that starts when every task succeeded
# (`--dependency=afterok`; it is cancelled if one fails). What must be
# shared: vstudio on every node, the script and everything it reads at the
# same path, and the folder of OUT (parts go to OUT.parts/ beside it).
# Logs: slurm-render-<job>_<task>.log and slurm-join-<job>.log in the folder
# the command runs in.
#
# SBATCH OPTIONS (every argument before SCRIPT, values attached with `=`)
# go to both jobs, e.g. --cpus-per-task=4 --partition=render --time=2:00:00
# --account=vfx; sbatch's SBATCH_* variables work too. Without them a task
# gets what the cluster gives by default (one CPU on most) and vstudio uses
# the CPUs Slurm gave the task. N defaults to as many tasks as the partition
# can run at once. Before submitting, `sbatch --test-only` checks that the
# cluster can run such a task; if not, nothing is submitted. A job Slurm
# accepts but will never start (a partition limit, e.g. --time over its
# MaxTime) is cancelled at once with Slurm's reason.
#
# A failed task: its log names the segment and the frame. Fix the cause and
# run the same command again: parts that exist are complete (written as
# .part, renamed at the end) and kept, only the missing segments are
# submitted, then the join.
#
# Segments are numbered from 1, like vs.dataset{shard={i, n}}. RUN OPTIONS
# reach the tasks through the environment, split at spaces: no option value
# may contain one (e.g. `--crf 0 --preset slow`). VSTUDIO names the binary
# (default: vstudio on PATH).
#SBATCH --job-name=vstudio-render
#SBATCH --output=slurm-render-%A_%a.log
set -eu
me=slurm-render.sh

if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    # Inside an array task: render one segment with the CPUs Slurm gave it.
    k=$SLURM_ARRAY_TASK_ID
    cpus=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-}}
    mkdir -p "$OUT.parts"
    # shellcheck disable=SC2086 # RUN_OPTS is a list of options
    if ! "$VSTUDIO" run "$SCRIPT" --segment "$k/$SEGMENTS" ${cpus:+--workers $cpus} \
        -o "$OUT.parts/part-$k.mp4" $RUN_OPTS; then
        echo "$me: task ${SLURM_ARRAY_JOB_ID}_$k (segment $k/$SEGMENTS of $SCRIPT) failed;" \
            "run the same command again to resubmit the missing segments" >&2
        exit 1
    fi
    exit 0
fi

die() { echo "$me: $*" >&2; exit 1; }
# Single-quotes a word for the shell of the join's --wrap.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# On the login node: the sbatch options, then the script and the output.
opts="" partition="" cpt=1
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; break ;;
    --partition=*) partition=${1#*=} ;;
    -p?*) partition=${1#-p} ;;
    --cpus-per-task=*) cpt=${1#*=} ;;
    -c?*) cpt=${1#-c} ;;
    --partition | --cpus-per-task | --time | --account | --mem | --mem-per-cpu | --qos | --constraint | \
        --gres | --nodelist | --exclude | --reservation | -p | -c | -t | -A | -q | -C | -w | -x)
        echo "$me: $1: attach its value (--partition=main, -pmain): the first argument without a - is the script" >&2
        exit 2 ;;
    -*) ;;
    *) break ;;
    esac
    opts="$opts $(q "$1")"
    shift
done
[ $# -ge 2 ] || { echo "usage: sh $0 [SBATCH OPTIONS...] SCRIPT.lua OUT.mp4 [N] [RUN OPTIONS...]" >&2; exit 2; }
command -v sbatch >/dev/null 2>&1 || die "sbatch is not on PATH (is this a Slurm login node?)"
[ -f "$1" ] || die "$1: no such script"
SCRIPT=$(realpath "$1")
OUT=$(realpath -m "$2")
case ${3:-} in
'' | *[!0-9]*)
    # As many tasks as the partition (given, else the default one, marked
    # "*") has CPUs for; %C is "allocated/idle/other/total".
    total=$(sinfo -h ${partition:+-p "$partition"} -o '%P %C' 2>/dev/null |
        awk -v p="$partition" 'p != "" || $1 ~ /[*]$/ { split($2, c, "/"); print c[4]; exit }')
    SEGMENTS=$(( ${total:-$cpt} / cpt ))
    [ "$SEGMENTS" -ge 1 ] || SEGMENTS=1
    shift 2 ;;
*) SEGMENTS=$3; shift 3 ;;
esac
[ "$SEGMENTS" -ge 1 ] || die "N must be at least 1"
RUN_OPTS="$*"
VSTUDIO=${VSTUDIO:-vstudio}
case $VSTUDIO in */*) VSTUDIO=$(realpath "$VSTUDIO") ;; esac
export SCRIPT OUT RUN_OPTS SEGMENTS VSTUDIO

# Fail now, not pend forever: can the cluster run one such task at all?
if ! err=$(eval "sbatch --test-only $opts --wrap true" 2>&1); then
    die "the cluster cannot run a task with these options (${opts# }): $(echo "$err" | tail -n 1)
(see what the partitions give: sinfo -o '%P %c %m %l %D')"
fi

# Parts of another render (other script, N or options) must not be joined.
plan="$SEGMENTS segments of $SCRIPT, options: $RUN_OPTS"
mkdir -p "$OUT.parts"
if [ -f "$OUT.parts/plan" ]; then
    [ "$(cat "$OUT.parts/plan")" = "$plan" ] ||
        die "$OUT.parts/ holds the parts of another render ($(cat "$OUT.parts/plan")); remove it first"
else
    echo "$plan" >"$OUT.parts/plan"
fi

# Only the segments whose part is missing (all of them the first time).
todo=""
k=1
while [ "$k" -le "$SEGMENTS" ]; do
    [ -s "$OUT.parts/part-$k.mp4" ] || todo="$todo${todo:+,}$k"
    k=$((k + 1))
done

dep=""
if [ -n "$todo" ]; then
    job=$(eval "sbatch --parsable --export=ALL $opts --array=$todo \"\$0\"") || die "sbatch refused the render array"
    job=${job%%;*}
    dep="--dependency=afterok:$job --kill-on-invalid-dep=yes"
fi
parts=""
k=1
while [ "$k" -le "$SEGMENTS" ]; do parts="$parts $(q "$OUT.parts/part-$k.mp4")"; k=$((k + 1)); done
# shellcheck disable=SC2034 # read by the eval below
wrap="$(q "$VSTUDIO") concat$parts -o $(q "$OUT") && rm -r $(q "$OUT.parts")"
join=$(eval "sbatch --parsable $dep $opts --job-name=vstudio-join --output=slurm-join-%j.log --wrap=\"\$wrap\"") ||
    die "sbatch refused the join"
# --test-only misses some partition limits (e.g. --time over MaxTime): such
# a job is accepted and pends forever. Slurm says why at its first look.
if [ -n "$todo" ]; then
    i=0
    while [ "$i" -lt 20 ]; do
        states=$(squeue -h -j "$job" -o '%t %r' 2>/dev/null | sort -u)
        case " $states " in
        *PartitionConfig* | *PartitionTimeLimit* | *PartitionNodeLimit* | *AccountNotAllowed* | \
            *QOSNotAllowed* | *InvalidAccount* | *InvalidQOS* | *BadConstraints*)
            scancel "$job" "$join" 2>/dev/null || true
            reason=$(echo "$states" | grep -v '^R ' | head -n 1 | cut -d' ' -f2)
            die "the cluster will not run the render array: $reason: the request (${opts# }) exceeds a" \
                "limit of ${partition:-the default partition}; cancelled jobs $job and $join" \
                "(see scontrol show partition ${partition})"
            ;;
        esac
        # running, or pending for a reason that passes (Resources, Priority, ...)
        echo "$states" | grep -qv '^PD None$' && break
        sleep 0.5
        i=$((i + 1))
    done
fi
if [ -n "$todo" ]; then
    echo "$me: submitted render array $job (segments $todo of $SEGMENTS) and join $join; result: $OUT"
else
    echo "$me: all $SEGMENTS parts exist; submitted join $join; result: $OUT"
fi
