#!/usr/bin/env bash
# docs/scale-out/slurm.sh RECIPE OUT [TASKS]
# docs/scale-out/slurm.sh rewrite IN OUT [TASKS] [-- REWRITE_FLAGS...]
# Runs a build of RECIPE (or a rewrite of the build folder IN) as a Slurm job array of TASKS workers (default 4), then
# merges the parts into OUT. Each task writes OUT.parts/part-$SLURM_ARRAY_TASK_ID and passes that index as
# --shard-index (the array runs 0..TASKS-1; without the flag mllmdata would read SLURM_ARRAY_TASK_ID minus
# SLURM_ARRAY_TASK_MIN itself). mllmdata is taken from $MLLMDATA (a command, e.g.
# "dotnet /opt/mllmdata/mllmdata.dll") or else from PATH. The tasks get the submitting shell's environment (sbatch's
# default), so a rewrite's OPENAI_* or AZURE_OPENAI_* variables reach them; the flags after -- go to every task
# (e.g. -- --select all --model gpt-4o-mini --cache /shared/cache.db).
# A recipe with a rewrite: section is run in two steps, as the tool asks: build it with the section removed, then
#   docs/scale-out/slurm.sh rewrite OUT-OF-THE-BUILD OUT [TASKS] -- FLAGS
# A failed task leaves no part: the merge names it; run only that task again and merge again:
#   ARRAY=2 docs/scale-out/slurm.sh RECIPE OUT [TASKS]     (ARRAY: the sbatch --array list to submit; default all)
# The count is passed as --num-shards TASKS, since a re-run array of one task has SLURM_ARRAY_TASK_COUNT 1.
set -uo pipefail

usage() {
  echo "usage: $0 RECIPE OUT [TASKS]" >&2
  echo "       $0 rewrite IN OUT [TASKS] [-- REWRITE_FLAGS...]" >&2
  exit 1
}

command=build
if [ "${1:-}" = rewrite ]; then
  command=rewrite
  shift
fi

[ $# -ge 2 ] || usage
source_arg=$(realpath "$1")
out=$(realpath -m "$2")
shift 2
tasks=4
if [ $# -gt 0 ] && [ "$1" != -- ]; then
  tasks=$1
  shift
fi
flags=()
if [ $# -gt 0 ]; then
  [ "$1" = -- ] && [ "$command" = rewrite ] || usage
  shift
  flags=("$@")
fi

mllmdata=${MLLMDATA:-$(command -v mllmdata || true)}
if [ -z "$mllmdata" ]; then
  echo "$0: no mllmdata on PATH; set MLLMDATA to its command" >&2
  exit 1
fi

parts="$out.parts"
mkdir -p "$parts"
array=${ARRAY:-0-$((tasks - 1))}

# Every word quoted for the shell that runs --wrap.
if [ "$command" = build ]; then
  what="build --recipe $(printf '%q' "$source_arg")"
else
  what="rewrite --in $(printf '%q' "$source_arg")"
  for f in "${flags[@]}"; do
    what+=" $(printf '%q' "$f")"
  done
fi

# The one line that differs from the Kubernetes Indexed Job: the index comes from SLURM_ARRAY_TASK_ID.
sbatch --array="$array" --wait --job-name="mllmdata-$command" --output="$parts/task-%a.log" \
  --wrap "$mllmdata $what --out $(printf '%q' "$parts")/part-\$SLURM_ARRAY_TASK_ID --num-shards $tasks --shard-index \$SLURM_ARRAY_TASK_ID"
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
