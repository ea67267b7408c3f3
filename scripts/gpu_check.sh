#!/usr/bin/env bash
# One command for a GPU machine (torch 2.x + CUDA, nvcc, ninja, pytest; no network needed):
#   bash scripts/gpu_check.sh
# Installs repro-core, repro-cuda and repro-mae editable (no deps, no build isolation),
# compiles the kernels for the GPUs present (repro-cuda build --arch auto), runs the CPU+CUDA
# tests of tests/cuda and tests/mae, the MAE training-step benchmark (ViT-B, batch 64, bf16),
# then the kernel benchmark, whose table is printed last. Exit status: non-zero if the build
# or the tests failed (the benchmarks still run after failed tests).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python}
export PYTHONPATH="$ROOT/packages/repro-core/src:$ROOT/packages/repro-cuda/src:$ROOT/packages/repro-mae/src${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${CUDA_HOME:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDA_HOME=/usr/local/cuda; fi

step() { printf '\n=== %s (%ds) ===\n' "$1" "$SECONDS"; }

step "environment"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv 2>&1 | head -5
"$PY" -c "import torch, sys; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cuda', torch.version.cuda, '| gpus', torch.cuda.device_count())"
"${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" --version 2>&1 | tail -2

step "install (editable, --no-deps --no-build-isolation)"
"$PY" -m pip install -q --no-deps --no-build-isolation \
    -e packages/repro-core -e packages/repro-cuda -e packages/repro-mae 2>&1 | tail -3 \
  || echo "pip install failed: running from the source tree via PYTHONPATH instead"

step "repro-cuda build --arch auto"
if ! "$PY" -m repro_cuda build --arch auto; then
  echo "BUILD FAILED"; exit 1
fi
"$PY" -m repro_cuda info

step "tests/cuda and tests/mae (CPU and CUDA)"
"$PY" -m pytest tests/cuda tests/mae -q -ra -p no:cacheprovider
tests_rc=$?

step "MAE training step (bench/mae_step.py: ViT-B, batch 64, bf16)"
"$PY" bench/mae_step.py --device cuda --configs base --batch 64 --amp bf16 --rounds 5 --iters 5
mae_rc=$?

step "benchmark (bench/kernels.py, table last)"
"$PY" bench/kernels.py --device all --threads 2 --repeat 20
bench_rc=$?

step "done: tests exit $tests_rc, MAE benchmark exit $mae_rc, kernel benchmark exit $bench_rc"
[ "$tests_rc" -eq 0 ] && [ "$mae_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
