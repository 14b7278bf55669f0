#!/usr/bin/env bash
# Images per second: mllmdata's image stage (reference; copy with resize to 336) beside Pillow doing the same resize.
# Usage: bench/run-images.sh [images=2054]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2054}
/usr/bin/python3 -c "import PIL" 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-pil >/dev/null)
data=bench/data/images-$n
/usr/bin/python3 bench/make_images.py "$data" "$n" >/dev/null
dotnet build -c Release src/MllmData.Cli -v quiet -nologo >/dev/null
tool=src/MllmData.Cli/bin/Release/net10.0/mllmdata.dll
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run() { # label, extra args...
  local label=$1; shift
  rm -rf "$scratch/out"
  local start end
  start=$(date +%s.%N)
  dotnet "$tool" build --adapter coco-captions --input "captions=$data/captions.json" --per-image --image-root "$data/images" \
    --format llava --out "$scratch/out" -v quiet "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" -v l="$label" 'BEGIN { printf "%s: %d images in %.2f s: %.1f images/s\n", l, n, e - s, n / (e - s) }'
}
echo "cores: $(nproc)"
run "mllmdata --images reference" --images reference
run "mllmdata --images copy --max-side 336" --images copy --max-side 336
rm -rf "$scratch/pillow"
echo -n "pillow resize to 336 (one process): "
/usr/bin/python3 bench/pillow_resize.py "$data/images" "$scratch/pillow"
