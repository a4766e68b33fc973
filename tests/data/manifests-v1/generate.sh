#!/bin/sh
# Writes the committed `moshead-manifest-v1` fixtures: one model per head
# (ridge, linear, svr, mlp, auto), each trained by the release built from
# this checkout on chug-hdr's embedded demo corpus with the six libvmaf
# features (`vmaf-canonical-v1`), and the predictions that build made for
# the same corpus (`id,prediction,mos,split`). Later builds must still load these manifests for
# predict, validate and export, and predict the same (tests/manifests.rs).
# Regenerate only on purpose (a new manifest schema version gets its own
# directory beside this one).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
cargo build --release -p moshead -p chug-hdr -p konvid
bin="$root/target/release/moshead"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for head in ridge linear svr mlp auto; do
  id="v1_$head"
  "$bin" train --adapter chug-hdr --demo --schema vmaf-canonical-v1 --head "$head" \
    --model-id "$id" --out "$tmp/$head" --quiet >/dev/null
  mkdir -p "$here/$head"
  cp "$tmp/$head/$id.json" "$here/$head/"
  "$bin" predict --model "$tmp/$head/$id.json" --demo --quiet --format csv \
    | cut -d, -f1,2,4,6 >"$here/$head/predictions.csv"
done
