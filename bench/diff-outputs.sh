#!/usr/bin/env bash
# Runs one mllmdata command with two builds of the tool and compares what they give: exit code, stdout, stderr
# (progress lines left out) and every byte of the output folder. For changes that must not change output.
#
#   bench/diff-outputs.sh OLD.dll NEW.dll build --adapter vqav2 --input questions=/abs/q.json ... --format llava
#
# Give input paths absolute: each tool runs in a folder of its own (its --out is "out" there), so both see the same
# paths and the manifests, cards and resume journals can be compared byte for byte. Exit 0 when the two agree, 1 if not.
# To make the two builds: git worktree add /tmp/old <commit> && nice -n 10 dotnet build /tmp/old/src/MllmData.Cli -c Release
set -uo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
old=$1 new=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for v in old new; do
  mkdir -p "$work/$v"
  dll=$old
  [ "$v" = new ] && dll=$new
  out=()
  [ "$1" = build ] && out=(--out out)
  (cd "$work/$v" && nice -n 10 dotnet "$dll" "$@" "${out[@]}" >stdout 2>stderr; echo $? >rc)
  # Progress lines carry times and rates; the folder's own path differs between the two runs.
  sed -i -E '/^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]+\] progress:/d' "$work/$v/stderr"
  sed -i "s#$work/$v#DIR#g" "$work/$v/stdout" "$work/$v/stderr"
done
same=0
for f in rc stdout stderr; do
  if ! cmp -s "$work/old/$f" "$work/new/$f"; then
    echo "differs: $f"
    diff "$work/old/$f" "$work/new/$f" | head -20
    same=1
  fi
done
if [ -d "$work/old/out" ] || [ -d "$work/new/out" ]; then
  if ! diff -r "$work/old/out" "$work/new/out" >"$work/tree.diff" 2>&1; then
    echo "differs: output folder"
    head -20 "$work/tree.diff"
    same=1
  fi
fi
[ $same -eq 0 ] && echo "same: exit $(cat "$work/new/rc"), $(find "$work/new/out" -type f 2>/dev/null | wc -l) output files"
exit $same
