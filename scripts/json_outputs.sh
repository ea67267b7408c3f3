#!/usr/bin/env bash
# Writes the JSON outputs of `repro scan/plan/doctor` on the test fixtures (with exit codes
# and stderr) into DIR, so two trees can be compared: `diff -r OLD NEW` must be empty
# after a refactor that keeps behaviour. Usage: scripts/json_outputs.sh DIR [PYTHON]
set -u
out=${1:?usage: json_outputs.sh DIR [PYTHON]}
py=${2:-python}
cd "$(dirname "$0")/.."
mkdir -p "$out"
run() {  # name, args...
  local name=$1; shift
  "$py" -m repro_cli "$@" >"$out/$name.json" 2>"$out/$name.err"
  echo "rc=$?" >>"$out/$name.err"
}
for r in tests/data/repos/*/; do
  n=$(basename "$r")
  run "scan-$n" scan "$r" --json
  for g in none 7.0 8.9 9.0 "RTX 4090" "A100"; do
    run "plan-$n-${g// /_}" plan "$r" --gpu "$g" --json
  done
  run "plan-$n-9.0-driver450" plan "$r" --gpu 9.0 --driver 450.80.02 --json
done
run doctor doctor --json
run doctor-4090-110 doctor --json --gpu "RTX 4090" --torch-build 1.10.2+cu113
run doctor-h100-110 doctor --json --gpu 9.0 --torch-build 1.10.2+cu113
run doctor-none doctor --json --gpu 7.5 --torch-build 2.14.1+cu130
