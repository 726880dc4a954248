#!/bin/sh
# slurm-render.sh: render a vstudio script as a Slurm job array, one segment
# per array task, then join the segments losslessly in a dependent job.
#
#   sh examples/slurm-render.sh SCRIPT.lua OUT.mp4 [N] [RUN OPTIONS...]
#
# submits `--array=1-N` render tasks (task K runs `vstudio run SCRIPT
# --segment K/N`) and a join job that starts when every task succeeded
# (`--dependency=afterok`). What must be shared: vstudio on every node, the
# script and everything it reads at the same path, and the folder of OUT
# (parts go to OUT.parts/ beside it). Logs: slurm-render-<job>_<task>.log.
# A failed task can be resubmitted alone (sbatch --array=K ...); parts that
# exist are complete (written as .part, renamed at the end).
#
# Segments are numbered from 1, like vs.dataset{shard={i, n}}. RUN OPTIONS
# reach the tasks through the environment, split at spaces: no option value
# may contain one (e.g. `--crf 0 --preset slow`).
#SBATCH --job-name=vstudio-render
#SBATCH --cpus-per-task=4
#SBATCH --output=slurm-render-%A_%a.log
set -eu

if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    # Inside an array task: render one segment with this task's cores.
    k=$SLURM_ARRAY_TASK_ID
    n=$SLURM_ARRAY_TASK_COUNT
    mkdir -p "$OUT.parts"
    # --workers: the task's cores when Slurm says (else vstudio decides).
    # shellcheck disable=SC2086 # RUN_OPTS is a list of options
    exec vstudio run "$SCRIPT" --segment "$k/$n" ${SLURM_CPUS_PER_TASK:+--workers $SLURM_CPUS_PER_TASK} \
        -o "$OUT.parts/part-$k.mp4" $RUN_OPTS
fi

# On the login node: submit the array and the join.
[ $# -ge 2 ] || { echo "usage: sh $0 SCRIPT.lua OUT.mp4 [N] [RUN OPTIONS...]" >&2; exit 2; }
SCRIPT=$(realpath "$1")
OUT=$(realpath -m "$2")
n=${3:-8}
if [ $# -ge 3 ]; then shift 3; else shift $#; fi
RUN_OPTS="$*"
export SCRIPT OUT RUN_OPTS
job=$(sbatch --parsable --export=ALL --array="1-$n" "$0")
parts=""
k=1
while [ "$k" -le "$n" ]; do parts="$parts '$OUT.parts/part-$k.mp4'"; k=$((k + 1)); done
sbatch --dependency="afterok:$job" --job-name=vstudio-join --output=slurm-join-%j.log \
    --wrap="vstudio concat $parts -o '$OUT' && rm -r '$OUT.parts'"
echo "submitted render array $job ($n segments) and its join; result: $OUT"
