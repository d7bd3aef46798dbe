#!/usr/bin/env bash
# The default demo: installs what is missing, builds, makes the toy checkpoint
# if needed, runs the toy recipe and prints what it found and where the results are.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$here/tools/setup.sh")"
export MECHLENS_MODELS="${MECHLENS_MODELS:-$build/models}"

# The tiny random BERT of experiments/toy/tiny_bert_sensitivity.toml is made
# on the fly; the trained toys under experiments/toy/models are committed.
if [[ ! -f $MECHLENS_MODELS/tiny-bert/config.json ]]; then
  "$build/bin/mechlens-make-tiny" bert "$MECHLENS_MODELS/tiny-bert" >&2
fi

recipe="${1:-$here/experiments/toy/induction_sensitivity.toml}"
out="${MECHLENS_DEMO_OUT:-$build/demo/$(basename "${recipe%.toml}").h5}"
mkdir -p "$(dirname "$out")"
"$build/bin/mechlens" run "$recipe" --out "$out" --report

# What the toy was built to contain, to compare with what the analysis found.
planted="$here/experiments/toy/models/induction/mechanisms.json"
if [[ $recipe == *induction* && -f $planted ]]; then
  /usr/bin/python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["induction_head"]; print("planted induction head (recorded by the trainer): layer %d head %d" % (h["layer"], h["head"]))' "$planted"
fi
echo
echo "inspect it with: $build/bin/mechlens inspect $out"
echo "report (open in a browser; works offline): ${out%.h5}.html"
