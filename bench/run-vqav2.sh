#!/usr/bin/env bash
# Times `mllmdata build` against the Python baseline on full-scale VQAv2-layout files.
# Usage: bench/run-vqav2.sh [runs]   (default 3 runs each; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
data=bench/data
q=$data/v2_OpenEnded_mscoco_train2014_questions.json
a=$data/v2_mscoco_train2014_annotations.json
[ -f "$q" ] && [ -f "$a" ] || python3 bench/gen_vqav2.py --out "$data"
# The tool as it would be deployed: a Release publish, precompiled (ReadyToRun) so no time goes to the JIT.
publish=bench/data/publish
dotnet publish src/MllmData.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$publish" -v quiet -nologo >/dev/null
tool=$publish/mllmdata.dll
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

measure() { # name, command...
  local name=$1; shift
  for i in $(seq "$runs"); do
    rm -rf "$scratch/out"
    /usr/bin/time -f "%e %M" -o "$scratch/t" "$@" >/dev/null 2>"$scratch/err" || { cat "$scratch/err"; exit 1; }
    echo "$name $(cat "$scratch/t")" | tee -a "$scratch/all" >&2
  done
}

measure mllmdata dotnet "$tool" build --adapter vqav2 --input "questions=$q" --input "annotations=$a" --format llava --no-meta --out "$scratch/out" -v quiet
ours_records=$(cat "$scratch"/out/*-of-*.jsonl | wc -l)
measure mllmdata-meta dotnet "$tool" build --adapter vqav2 --input "questions=$q" --input "annotations=$a" --format llava --out "$scratch/out" -v quiet
measure python python3 bench/baseline_llava.py --questions "$q" --annotations "$a" --out "$scratch/out"
py_records=$(cat "$scratch"/out/*.jsonl | wc -l)

median() { grep "^$1 " "$scratch/all" | awk '{print $'"$2"'}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ot=$(median mllmdata 2); om=$(median mllmdata 3)
mt=$(median mllmdata-meta 2); mm=$(median mllmdata-meta 3)
pt=$(median python 2); pm=$(median python 3)
echo
echo "| run | records | wall time (s) | peak RSS (MB) |"
echo "|---|---|---|---|"
echo "| mllmdata build --format llava --no-meta | $ours_records | $ot | $((om / 1024)) |"
echo "| mllmdata build --format llava (with meta) | $ours_records | $mt | $((mm / 1024)) |"
echo "| python3 baseline_llava.py | $py_records | $pt | $((pm / 1024)) |"
echo
awk -v ot="$ot" -v pt="$pt" -v om="$om" -v pm="$pm" 'BEGIN { printf "speed-up (no meta): %.1fx; peak memory: 1/%.0f of the baseline\n", pt / ot, pm / om }'
