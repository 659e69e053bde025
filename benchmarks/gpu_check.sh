#!/usr/bin/env bash
# Every CUDA check and GPU benchmark of the engine in one run, for a lent GPU machine (no internet there).
#
# Prepare on this machine (both folders are git-ignored and travel with `carry`):
#   python3 -m pip download --python-version 3.12 --only-binary=:all: --no-deps -d .whl \
#       pydantic pydantic-core annotated-types typing-inspection tomli-w torchinfo \
#       scikit-learn scipy joblib threadpoolctl
#   mkdir -p .devdata && cp /usr/share/datasets/fashion-mnist/*.gz .devdata/
# Then run it there (carry .whl and .devdata), e.g. with a 420 s limit:
#   bash benchmarks/gpu_check.sh
# It writes every table and log under $OUT (default ./gpu-out) and prints the tables last.
# On a machine without CUDA it runs the same steps on the CPU (DEVICE=cpu), to check the script itself.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
DEVICE=${DEVICE:-$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')}
SUBSET=${SUBSET:-}  # empty: the full 55,000 training images
MEMBERS=${MEMBERS:-64}
export PYTHONPATH="$PWD/src:$PWD/.pydeps${PYTHONPATH:+:$PYTHONPATH}"
export DEEPFIT_DATA="$PWD/.devdata"

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv 2>/dev/null || true
  python3 -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
} > "$OUT/machine.txt" 2>&1

# deepfit's pure-Python dependencies that the image may lack, from the carried wheels, into .pydeps
if ! python3 -c 'import pydantic, tomli_w, torchinfo, sklearn' 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target .pydeps .whl/*.whl > "$OUT/pip.log" 2>&1 \
    || echo "pip could not install the carried wheels (see $OUT/pip.log)"
fi

# 1. the CUDA tests (and the engine's CPU tests, for the same torch)
python3 -m pytest -q -p no:cacheprovider tests/train/test_engine.py tests/optim/test_batched.py \
  tests/optim/test_keras_rules.py tests/train/test_compile_cache.py tests/train/test_eval_batch.py \
  tests/run/test_predictions.py tests/train/test_backends.py tests/train/test_update.py \
  > "$OUT/tests.txt" 2>&1
echo "tests: $(tail -n 1 "$OUT/tests.txt")"

# 2. the benchmarks: single model (eager, compile, graph), 64 members, probes
subset_arg=${SUBSET:+--subset $SUBSET}
python3 benchmarks/engine_speed.py --device "$DEVICE" --members "$MEMBERS" --rounds 3 $subset_arg \
  > "$OUT/engine_speed.md" 2> "$OUT/engine_speed.log"
python3 benchmarks/train_speed.py --device "$DEVICE" --epochs 4 $subset_arg \
  > "$OUT/train_speed.txt" 2> "$OUT/train_speed.log"

cat "$OUT/machine.txt"
cat "$OUT/engine_speed.md" "$OUT/train_speed.txt"
