#!/usr/bin/env bash
# One short GPU session (< 5 minutes): the cuDNN parity test, then the GPU benchmark
# (all six shapes, fp32 and bf16, rnnlab / rnnlab-cudnn / flax / torch; see README.md).
#   bash benchmarks/gpu.sh            # from the repository root, requirements-bench.txt installed
set -euo pipefail
python -m pytest -q tests/test_levers.py -k cudnn
timeout 420 python -m benchmarks.lstm_lm --gpu "$@"
