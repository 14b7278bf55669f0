#!/usr/bin/env bash
# docs/scale-out/slurm.sh RECIPE OUT [TASKS]
# Builds RECIPE as a Slurm job array of TASKS workers (default 4), then merges the parts into OUT.
# Each task writes OUT.parts/part-$SLURM_ARRAY_TASK_ID; mllmdata takes its shard index from SLURM_ARRAY_TASK_ID
# (minus SLURM_ARRAY_TASK_MIN) and the count from SLURM_ARRAY_TASK_COUNT. mllmdata is taken from $MLLMDATA
# (a command, e.g. "dotnet /opt/mllmdata/mllmdata.dll") or else from PATH.
# A failed task leaves no part: the merge names it; run only that task again and merge again:
#   ARRAY=2 docs/scale-out/slurm.sh RECIPE OUT [TASKS]     (ARRAY: the sbatch --array list to submit; default all)
# The count is passed as --num-shards TASKS, since a re-run array of one task has SLURM_ARRAY_TASK_COUNT 1.
set -uo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 RECIPE OUT [TASKS]" >&2
  exit 1
fi

recipe=$(realpath "$1")
out=$(realpath -m "$2")
tasks=${3:-4}
mllmdata=${MLLMDATA:-$(command -v mllmdata || true)}
if [ -z "$mllmdata" ]; then
  echo "$0: no mllmdata on PATH; set MLLMDATA to its command" >&2
  exit 1
fi

parts="$out.parts"
mkdir -p "$parts"

array=${ARRAY:-0-$((tasks - 1))}

# The one line that differs from the Kubernetes Indexed Job: the index comes from SLURM_ARRAY_TASK_ID.
sbatch --array="$array" --wait --job-name=mllmdata-build --output="$parts/task-%a.log" \
  --wrap "$mllmdata build --recipe '$recipe' --out '$parts'/part-\$SLURM_ARRAY_TASK_ID --num-shards $tasks --shard-index \$SLURM_ARRAY_TASK_ID"
status=$?
if [ $status -ne 0 ]; then
  echo "$0: sbatch reported failed tasks (exit $status); logs in $parts/task-*.log" >&2
fi

# Every part by name, so a missing one is named by the merge.
list=()
for ((i = 0; i < tasks; i++)); do
  list+=("$parts/part-$i")
done
# shellcheck disable=SC2086 # MLLMDATA may be a command with arguments
exec $mllmdata merge "${list[@]}" --out "$out"
