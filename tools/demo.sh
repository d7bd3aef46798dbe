#!/usr/bin/env bash
# The default demo: installs what is missing, builds, makes the toy checkpoint
# if needed, runs the toy recipe and prints what it found and where the results are.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$here/tools/setup.sh")"
export MECHLENS_MODELS="${MECHLENS_MODELS:-$build/models}"

if [[ ! -f $MECHLENS_MODELS/tiny-bert/config.json ]]; then
  "$build/bin/mechlens-make-tiny" bert "$MECHLENS_MODELS/tiny-bert" >&2
fi

recipe="${1:-$here/experiments/toy/tiny_bert_sensitivity.toml}"
out="${MECHLENS_DEMO_OUT:-$build/demo/$(basename "${recipe%.toml}").h5}"
mkdir -p "$(dirname "$out")"
rm -f "$out"
"$build/bin/mechlens" run "$recipe" --out "$out"
echo
echo "inspect it with: $build/bin/mechlens inspect $out"
