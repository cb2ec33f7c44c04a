#!/usr/bin/env bash
# The GPU measurements issues 7 and 8 ask for, in one short run on a lent device machine (the
# `device` tool; a task drawn for one has 15 minutes of device time, all tries together): IDM
# labelling and training on OpenAI's 4x size, and BC training on the 1x size, each against its
# reference-style loop in the same run (README performance table).
#
#   bash scripts/gpu_checks.sh --fetch-wheels   here, once: PyAV and Gymnasium for the device's
#                                               Python 3.12 into .whl/ (git-ignored through
#                                               .git/info/exclude; the device image lacks them)
#   then the device tool's run, command `bash scripts/gpu_checks.sh`, carry [".whl"]: each bench
#   has its own time limit (LIMIT seconds, default 150) and the log comes back as $OUT/gpu_checks.log.
#   SMOKE=1 bash scripts/gpu_checks.sh          the same steps on this machine's CPU with tiny
#                                               sizes (a check of the script, not a measurement)
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --fetch-wheels ]; then
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
  exec python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl av==18.1.0 gymnasium==1.4.0 farama-notifications==0.0.6
fi
LOG=${OUT:-runs/gpu_checks}/gpu_checks.log
mkdir -p "$(dirname "$LOG")"
if [ "${SMOKE:-0}" = 1 ]; then
  PY=${PY:-.venv/bin/python}
  DEVICE=cpu IDM=(--preset tiny --videos 1 --frames 64 --train-batch 1) BC=(--preset tiny --batch 2 --chunk 8)
else
  if ls .whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
  fi
  PY=${PY:-python3}
  DEVICE=cuda IDM=(--preset 4x --videos 4 --frames 512 --train-batch 1) BC=(--preset 1x --batch 16 --chunk 64)
  nvidia-smi -L 2>&1 | tee -a "$LOG"
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
LIMIT=${LIMIT:-150}
run() {  # one bench, stopped at LIMIT seconds; its output goes to the log either way
  echo "== $*" | tee -a "$LOG"
  timeout "$LIMIT" "$PY" "$@" 2>&1 | tee -a "$LOG"
  echo "== exit ${PIPESTATUS[0]}" | tee -a "$LOG"
}
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tee -a "$LOG"
# Issue 7: labelling frames/s against the reference demo's loop (batch 1, non-overlapping windows), and training.
run benchmarks/bench_idm.py "${IDM[@]}" --device $DEVICE --bf16 --repeats 2
# Issue 8: sequence BC against the reference demo's one-frame, one-sample loop.
run benchmarks/bench_bc.py "${BC[@]}" --device $DEVICE --bf16 --repeats 3
echo "log: $LOG"
