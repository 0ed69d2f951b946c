#!/usr/bin/env bash
# One short GPU session: the cuDNN parity test, then the GPU benchmark (about 6 min
# expected on an H100, mostly XLA compiles: not yet timed in this form)
# (all six shapes, fp32 and bf16, rnnlab / rnnlab-cudnn / flax / torch; see README.md).
#   bash benchmarks/gpu.sh            # from the repository root, requirements-bench.txt installed
set -euo pipefail
python -m pytest -q tests/test_levers.py -k cudnn
timeout 420 python -m benchmarks.lstm_lm --gpu "$@"
