#!/usr/bin/env bash
# Builds Anvil's client runtime (the code anvil.works and the App Server send to every browser) for the
# browser tests, from the same anvil-runtime commit the tests were written against. Needs git, Node.js
# 20+ with npm, and internet access.
#
#   scripts/build_anvil_runtime.sh [TARGET]     # TARGET default: ../shared/anvil-runtime
#
# TARGET/client is then what the tests read (or point ANVIL_RUNTIME_DIR at it): dist/ (the build, with
# the page template dist/runner2.html), js/lib/ (Skulpt, jQuery, moment, plotly), css/, fonts/, img/.
set -euo pipefail

COMMIT=34067eb48f36f2bfc97227bb019b0fc4c8116e1f   # tagged "Anvil App Server v1.17.0"
PLOTLY=3.7.0                                      # plotly.js-dist-min, which the Plot component loads

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$(realpath -m "${1:-$(dirname "$repo_root")/shared/anvil-runtime}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git clone --quiet --filter=blob:none --no-checkout https://github.com/anvil-works/anvil-runtime.git "$work/anvil-runtime"
git -C "$work/anvil-runtime" checkout --quiet "$COMMIT"
cd "$work/anvil-runtime/client"
# Every dependency is an ordinary npm package; the prebuild step only regenerates a committed file.
npm install --ignore-scripts --no-audit --no-fund
npx rsbuild build --mode=production
npm install --no-save --ignore-scripts --no-audit --no-fund "plotly.js-dist-min@$PLOTLY"
cp node_modules/plotly.js-dist-min/plotly.min.js js/lib/plotly-latest.min.js

mkdir -p "$target/client"
for folder in dist js/lib css fonts img; do
    mkdir -p "$target/client/$(dirname "$folder")"
    rm -rf "${target:?}/client/$folder"
    cp -r "$folder" "$target/client/$folder"
done
find "$target/client" -name '*.map' -delete
cp ../LICENSE "$target/LICENSE"
echo "Anvil's client runtime (anvil-runtime $COMMIT) is in $target/client"
