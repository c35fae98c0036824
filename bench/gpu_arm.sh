#!/usr/bin/env bash
# The GPU arm of bench/bench_train.py, whole, in a few minutes: ftui's trainer against the guides'
# baseline on a 0.5 B-parameter Qwen2.5-shaped model built from its config (random weights), in
# 16-bit LoRA and, when bitsandbytes is there, 4-bit QLoRA; tokens/s, peak GPU memory and the
# memory estimate beside it.
#
#   bench/gpu_arm.sh            # on the GPU machine
#   bench/gpu_arm.sh --dry      # the same script on a CPU, tiny model, a few examples: a check
#
# The machine needs torch, transformers, peft and accelerate. What it lacks is installed from
# wheels in bench/wheels (ignored by git), offline: fetch them where a package index is reachable,
# for the GPU machine's Python (cp311 here; check `python -V` there first):
#
#   pip download --no-deps -d bench/wheels --python-version 3.11 --only-binary=:all: \
#       --platform manylinux_2_28_x86_64 \
#       trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0 \
#       fsspec==2026.9.0 pyarrow==26.0.1 bitsandbytes==0.50.2
#
# The dialogues travel the same way (the GPU machine has no ../shared):
#
#   mkdir -p bench/wheels/datasets/openai-chat
#   head -512 "$FTUI_SHARED_DATASETS/openai-chat/sgd_dialogues.jsonl" \
#       > bench/wheels/datasets/openai-chat/sgd_dialogues.jsonl
#
# Sizes: trl 0.9 MB, datasets and its small deps 1.6 MB, pyarrow 55 MB, bitsandbytes 43 MB. A
# machine's carry limit of 64 MiB takes the small ones with either pyarrow or bitsandbytes, not
# both: where pyarrow must travel, run once carrying it (it stays installed while the machine is
# warm), then again carrying bitsandbytes; without bitsandbytes the 16-bit arms still run.
# datasets also needs pandas, which is too large to carry beside pyarrow.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PYTHON="${PYTHON:-python3}"
WHEELS=bench/wheels
if [ -d "$WHEELS/datasets" ]; then export FTUI_SHARED_DATASETS="$PWD/$WHEELS/datasets"; fi

missing() {  # the import names among "$@" this Python cannot find
  "$PYTHON" - "$@" <<'EOF'
import importlib.util, sys
print(" ".join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))
EOF
}

install_missing() {
  local lacking
  lacking="$(missing trl datasets dill multiprocess xxhash fsspec pyarrow pandas bitsandbytes)"
  [ -z "$lacking" ] && return 0
  echo "missing: $lacking"
  if compgen -G "$WHEELS/*.whl" >/dev/null; then
    # --no-deps: the wheels are the missing pieces; torch and friends are the machine's own.
    "$PYTHON" -m pip install --no-index --no-deps --quiet "$WHEELS"/*.whl || true
  fi
  lacking="$(missing trl datasets pyarrow pandas)"
  if [ -n "$lacking" ]; then
    echo "cannot train without: $lacking (put their wheels in $WHEELS; see this file's header)" >&2
    exit 2
  fi
}

if [ "${1:-}" = "--dry" ]; then
  "$PYTHON" bench/bench_train.py --model-size tiny --device cpu --examples 16 --repeats 1 \
    --max-length 256
  exit 0
fi

install_missing
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader || true
"$PYTHON" -c 'import torch, transformers, trl, peft; print("torch", torch.__version__,
"transformers", transformers.__version__, "trl", trl.__version__, "peft", peft.__version__)'
# 512 SGD dialogues (~310 tokens each) at batch 8: about 160k tokens an arm, one round of each.
"$PYTHON" bench/bench_train.py --model-size 0.5b --device cuda --examples 512 --repeats 1 \
  --batch-size 8 --max-length 512
