#!/usr/bin/env bash
# Times `mllmdata build` against the plain Python converter (bench/plain_llava.py) and the heavier baseline
# (bench/baseline_llava.py) on full-scale VQAv2-layout files, interleaved in one run, then the peak RSS of the tool
# on 4x the input (the memory row).
# Usage: bench/run-vqav2.sh [runs]   (default 3 runs each; medians are reported)
# Each timed run waits until the 1-minute load is below MAX_LOAD (default 0.8), at most WAIT_MAX seconds (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
max_load=${MAX_LOAD:-0.8}
wait_max=${WAIT_MAX:-600}
data=bench/data
q=$data/v2_OpenEnded_mscoco_train2014_questions.json
a=$data/v2_mscoco_train2014_annotations.json
[ -f "$q" ] && [ -f "$a" ] || python3 bench/gen_vqav2.py --out "$data"
x4=$data/x4
q4=$x4/v2_OpenEnded_mscoco_train2014_questions.json
a4=$x4/v2_mscoco_train2014_annotations.json
[ -f "$q4" ] && [ -f "$a4" ] || python3 bench/gen_vqav2.py --scale 4 --out "$x4"
# The tool as it would be deployed: a Release publish, precompiled (ReadyToRun) so no time goes to the JIT.
publish=bench/data/publish
dotnet publish src/MllmData.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$publish" -v quiet -nologo >/dev/null
tool=$publish/mllmdata.dll
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

quiet() { # waits for a quiet machine; notes the load the run started at
  local waited=0
  while awk -v m="$max_load" '{ exit !($1 >= m) }' /proc/loadavg && [ "$waited" -lt "$wait_max" ]; do
    sleep 10; waited=$((waited + 10))
  done
  cut -d' ' -f1 /proc/loadavg
}

once() { # name, command...: one run; line "name wall maxrss_kb user sys load"
  local name=$1; shift
  rm -rf "$scratch/out"
  local load; load=$(quiet)
  /usr/bin/time -f "%e %M %U %S" -o "$scratch/t" "$@" >/dev/null 2>"$scratch/err" || { cat "$scratch/err"; exit 1; }
  echo "$name $(cat "$scratch/t") $load" | tee -a "$scratch/all" >&2
}

ours=(dotnet "$tool" build --adapter vqav2 --input "questions=$q" --input "annotations=$a" --format llava --out "$scratch/out" -v quiet)
for i in $(seq "$runs"); do
  once no-meta "${ours[@]}" --no-meta
  once meta "${ours[@]}"
  once plain python3 bench/plain_llava.py --questions "$q" --annotations "$a" --out "$scratch/out"
  once baseline python3 bench/baseline_llava.py --questions "$q" --annotations "$a" --out "$scratch/out"
done
records=$(cat "$scratch"/out/*.jsonl | wc -l)
for i in $(seq "$runs"); do
  once meta-x4 dotnet "$tool" build --adapter vqav2 --input "questions=$q4" --input "annotations=$a4" --format llava --out "$scratch/out" -v quiet
done
records4=$(cat "$scratch"/out/data/*.jsonl | wc -l)

median() { grep "^$1 " "$scratch/all" | awk '{print $'"$2"'}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
cpu() { grep "^$1 " "$scratch/all" | awk '{print $4 + $5}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
row() { # label, name, records
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$3" "$(median "$2" 2)" "$(cpu "$2")" "$(( $(median "$2" 3) / 1024 ))"
}
echo
echo "| run | records | wall time (s) | user+sys CPU (s) | peak RSS (MB) |"
echo "|---|---|---|---|---|"
row "python3 plain_llava.py (the plain converter)" plain "$records"
row "python3 baseline_llava.py (heavier baseline)" baseline "$records"
row "mllmdata build --format llava (with meta)" meta 443757
row "mllmdata build --format llava --no-meta" no-meta 443757
row "mllmdata build --format llava (with meta), 4x input" meta-x4 "$records4"
echo
awk -v p="$(median plain 2)" -v m="$(median meta 2)" -v n="$(median no-meta 2)" \
    -v pm="$(median plain 3)" -v mm="$(median meta 3)" -v nm="$(median no-meta 3)" -v m4="$(median meta-x4 3)" \
    -v pc="$(cpu plain)" -v mc="$(cpu meta)" -v nc="$(cpu no-meta)" 'BEGIN {
  printf "wall time, plain converter / ours: %.2fx with meta, %.2fx with --no-meta (CPU seconds: %.2fx, %.2fx)\n", p / m, p / n, pc / mc, pc / nc
  printf "peak RSS, ours / plain converter: 1/%.1f with meta, 1/%.1f with --no-meta\n", pm / mm, pm / nm
  printf "peak RSS, 4x input / 1x input (with meta): %.2fx\n", m4 / mm
}'
echo "(all runs: name wall_s maxrss_kb user_s sys_s load_at_start)"
cat "$scratch/all"
