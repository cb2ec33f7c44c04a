#!/usr/bin/env bash
# docs/results/README.md §3 (issue 9): RL from a BC prior against RL from scratch, at equal
# environment steps (150 iterations x 4 envs x 64 steps = 38,400): PPO from the prior (KL to it),
# PPO from scratch, SB3's PPO from scratch. The three runs go side by side, then a table and curves.
#   bash scripts/rl_compare.sh PRIOR OUT      (PRIOR: the policy's path without .model/.weights)
#   GUI_SCALE=2 bash scripts/rl_compare.sh PRIOR OUT   (for a prior trained at gui_scale 2; all three runs)
#   ITERATIONS=60 bash scripts/rl_compare.sh PRIOR OUT (a smaller budget: 60 x 256 = 15,360 steps each)
#   SEED=1 ONLY=ppo_prior bash scripts/rl_compare.sh PRIOR OUT   (another seed; only the named run(s))
# Every run resumes where it stopped when rerun. On a 2-core machine the three take ~30-60 min.
set -euo pipefail
PRIOR=${1:?usage: rl_compare.sh PRIOR OUT (PRIOR without .model/.weights)}
OUT=${2:?usage: rl_compare.sh PRIOR OUT}
VPT=${VPT:-.venv/bin/vpt}
# The RL world: the pipeline's easy world with mining 10x faster (a log by hand in 6 ticks, not 60).
RLWORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": '${GUI_SCALE:-1}'}'
ITERATIONS=${ITERATIONS:-150}
SEED=${SEED:-0}
ONLY=${ONLY:-"ppo_prior ppo_scratch sb3_scratch"}
STEPS=$((ITERATIONS * 4 * 64))
RL=(--task vpt/ObtainDiamondPickaxe-v0 --world "$RLWORLD" --max-steps 1000 --num-envs 4 --rollout-steps 64 --iterations "$ITERATIONS" --epochs 2 --lr 5e-5 --value-warmup 5 --seed "$SEED")
RUNS=()
for run in $ONLY; do  # every name checked before any run starts
  case $run in
    ppo_prior|ppo_scratch|sb3_scratch) RUNS+=("$OUT/$run") ;;
    *) echo "rl_compare.sh: unknown run $run in ONLY (ppo_prior, ppo_scratch, sb3_scratch)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT  # one run failing (or Ctrl-C) stops the others too
for run in $ONLY; do
  case $run in
    ppo_prior) OMP_NUM_THREADS=1 $VPT rl train --out "$OUT/ppo_prior" --init "$PRIOR.model" --init "$PRIOR.weights" "${RL[@]}" & ;;
    ppo_scratch) OMP_NUM_THREADS=1 $VPT rl train --out "$OUT/ppo_scratch" --init none --preset tiny "${RL[@]}" & ;;
    sb3_scratch) OMP_NUM_THREADS=1 $VPT rl sb3 --out "$OUT/sb3_scratch" --task vpt/ObtainDiamondPickaxe-v0 --steps "$STEPS" --num-envs 4 --size 64 \
                   --world "$RLWORLD" --max-steps 1000 --seed "$SEED" & ;;
  esac
  PIDS+=($!)
done
for _ in "${PIDS[@]}"; do wait -n; done  # the first run to fail stops the script (set -e)
$VPT rl table "${RUNS[@]}" --max-env-steps "$STEPS" | tee "$OUT/table.md"
$VPT rl plot "${RUNS[@]}" --out "$OUT/curves.png" --items log,planks,stick,crafting_table --window 8
