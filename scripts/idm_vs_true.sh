#!/usr/bin/env bash
# docs/results/README.md §2 (issue 8's must-show): the same BC recipe on the same videos, trained
# once on their true labels and once on an IDM's pseudo-labels, evaluated in the same world.
#   bash scripts/idm_vs_true.sh OUT                        (IDM: models/idm_g2, trained on other recordings)
#   IDM=runs/x/idm/idm TRUE_PRIOR=models/sticks_prior_g2_320 EVAL_SEEDS="0:32" bash scripts/idm_vs_true.sh OUT
#   STAGES="data label bc1 bc2" bash scripts/idm_vs_true.sh OUT   (a part: see below)
#   TRAIN_TRUE=1 ONLY=true_labels STAGES="bc1 bc2" bash scripts/idm_vs_true.sh OUT   (one side's BC)
#   ORACLE=screens NULL_RULE=policy STAGES="label bc1 bc2 bc3 eval" bash scripts/idm_vs_true.sh OUT
#   SOFT=1 NULL_RULE=policy STAGES="label bc1 bc2 bc3 eval" bash scripts/idm_vs_true.sh OUT
#   MIRROR=1 SOFT=1 NULL_RULE=policy STAGES="label bc1 bc2 bc3 eval" bash scripts/idm_vs_true.sh OUT
#   BC_SEED=1 MIRROR=1 SOFT=1 NULL_RULE=policy STAGES="label bc1 bc2 bc3 eval" bash scripts/idm_vs_true.sh OUT
# The videos and the recipe are `models/sticks_prior_g2_320`'s (models/README.md), which is the
# true-label side: 320 scripted tech-tree demonstrations (seed 2000) at gui_scale 2; BC from
# scratch 3,000 steps (lr 1e-3) and 1,500 more (lr 5e-4) on the first 160, then 2,400 more on
# all 320 with screen frames weighted 2 (lr 5e-4). TRAIN_TRUE=1 retrains the true side too,
# with this script's exact commands, instead of evaluating TRUE_PRIOR (reported in
# OUT/eval/true_labels_trained, TRUE_PRIOR's in OUT/eval/true_labels).
# NULL_RULE=policy drops the same frames from both sides' training (`vpt bc train --null-rule`):
# recordings otherwise also train on frames with a sub-bin mouse move and no key ("no button,
# no camera"), which label files cannot tell from null. `TRAIN_TRUE=1 NULL_RULE=policy` is the
# like-for-like comparison (session 19, docs/results/README.md §2). NULL_ACTIONS=1 trains both
# sides on every frame, waits included (`--null-actions`; like for like by construction, and a
# policy learns to hold the cursor still): use a fresh OUT, its stages are other policies.
# bc4 (not in the default STAGES) fine-tunes each side's bc3 1,200 more steps (lr 5e-4) on all 320
# with every frame trained, waits included (`--null-actions`), and eval4 evaluates both sides'
# bc4 into OUT/eval/SIDE_bc4 (session 22: teaches the cursor to stand still on screens). With the
# finished bc3 policies of `models/` copied in, that is 2 x ~17 min of BC and 2 x ~10 min of eval:
#   TRAIN_TRUE=1 STAGES="bc4 eval4" bash scripts/idm_vs_true.sh OUT   (results §2, session 22)
# ORACLE=screens (or off) is the label ablation of results §2, session 25: the IDM side trains on
# copies of the IDM's label files with the camera of every screen frame (or of those with the
# cursor off the screen's panel) replaced by the recordings' truth (scripts/oracle_labels.py,
# written by the label stage to OUT/labels_oracle_screens), in its own run folders
# (OUT/idm_labels_oracle_screens/bcN, evaluated into OUT/eval/idm_labels_oracle_screens), so
# the plain IDM side and the ablation share one OUT, its data and its labels. SOFT=1 trains the
# IDM side's camera on the IDM's posterior (`vpt bc train --soft-camera`), in run folders
# OUT/idm_labels_soft (with ORACLE: OUT/idm_labels_oracle_screens_soft) evaluated the same way.
# MIRROR=1 labels with `vpt idm label --mirror` (the IDM's posterior averaged with that of the
# mirrored video: camera R² 0.912 -> 0.927, posterior mean 0.938 -> 0.952 held out, results §1,
# session 21; twice the labelling time) into OUT/labels_mirror, and the IDM side's run folders
# and evaluations get _mirror after idm_labels (OUT/idm_labels_mirror_soft with SOFT=1).
# BC_SEED=S (not 0) trains every BC stage with `vpt bc train --seed S`: a replicate of a chain
# (how far two chains with identical settings differ in play), in run folders and evaluations
# of its own with _seedS at the end (OUT/idm_labels_mirror_soft_seed1, OUT/true_labels_seed1).
# Where the IDM-labelled run needs whether a screen is open (`--gui-weight`), BC sees it in the
# pixels (`vpt.data.screen_open`), as it would in web footage; the true side reads isGuiOpen.
# Every stage resumes where it stopped; a finished stage (its summary.json, or policy files
# without a checkpoint.pt beside them) or evaluation (its report.json) is skipped, so a run split
# over machines or sessions can be continued by copying a finished stage's policy.model and
# policy.weights into OUT/idm_labels/bcN (or OUT/true_labels/bcN), or an evaluation
# into OUT/eval/SIDE/seed_S (the data is regenerated identically from its seeds). Times on 2 cores
# (AVX-512 BF16, session 19): data 27 min, labels 12 min, bc1 45 min, bc2 23 min, bc3 ~40 min,
# eval ~45 min (224 episodes a policy, the two sides side by side, one core each).
set -euo pipefail
OUT=${1:?usage: bash scripts/idm_vs_true.sh OUT}
VPT=${VPT:-.venv/bin/vpt}
TORCHRUN=${TORCHRUN:-.venv/bin/torchrun}
PYTHON=${PYTHON:-.venv/bin/python}
IDM=${IDM:-models/idm_g2}
# The true side's bc3 trained with the same null rule (sticks_prior_g2_320_policy_null: this
# script's true side with NULL_RULE=policy and TRAIN_TRUE=1, session 21).
NULL_RULE=${NULL_RULE:-jsonl}
if [ "$NULL_RULE" = policy ]; then TRUE_PRIOR=${TRUE_PRIOR:-models/sticks_prior_g2_320_policy_null}; fi
TRUE_PRIOR=${TRUE_PRIOR:-models/sticks_prior_g2_320}
TRAIN_TRUE=${TRAIN_TRUE:-0}
# The evaluation worlds, SEED:EPISODES each (`vpt eval --seed S --episodes N`), pooled: 224 since
# session 27 (docs/results §2; the tables of sessions 22-26 pooled the first 96, and the true
# side's planks on them, 41%, were 45% on all 224: 96 leave ±5 points of standard error on a
# 50% rate, 224 ±3.3).
EVAL_SEEDS=${EVAL_SEEDS:-0:32 1000:64 2000:64 3000:64}
STAGES=${STAGES:-data label bc1 bc2 bc3 eval}  # and bc4, eval4: see above
NULL_ACTIONS=${NULL_ACTIONS:-0}
BC_SEED=${BC_SEED:-0}
ONLY=${ONLY:-idm_labels true_labels}  # the sides whose BC stages run (true_labels: with TRAIN_TRUE=1)
ORACLE=${ORACLE:-}  # screens or off: the IDM side's camera labels there are the truth (above)
SOFT=${SOFT:-0}  # 1: the IDM side's camera trains on the IDM's posterior (above)
MIRROR=${MIRROR:-0}  # 1: the IDM labels each video and its mirror image, averaged (above)
WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": 2}'
PLAYER='{"first_crafts": ["oak_planks", "stick"], "peek_prob": 0, "peek_rate": 0.005}'
GEN=(--player tech-tree --max-steps 600 --world "$WORLD" --workers 2 --player-options "$PLAYER")
for s in $STAGES; do
  case $s in data | label | bc1 | bc2 | bc3 | bc4 | eval | eval4) ;; *) echo "unknown stage $s (data label bc1 bc2 bc3 bc4 eval eval4)" >&2; exit 2 ;; esac
done
for side in $ONLY; do
  case $side in idm_labels | true_labels) ;; *) echo "unknown side $side in ONLY (idm_labels true_labels)" >&2; exit 2 ;; esac
done
case $ORACLE in '' | screens | off) ;; *) echo "unknown ORACLE $ORACLE (screens or off)" >&2; exit 2 ;; esac
case $MIRROR$SOFT in [01][01]) ;; *) echo "MIRROR and SOFT are 0 or 1 (got $MIRROR, $SOFT)" >&2; exit 2 ;; esac
for spec in $EVAL_SEEDS; do
  [[ $spec =~ ^[0-9]+:[1-9][0-9]*$ ]] || { echo "bad EVAL_SEEDS entry $spec (SEED:EPISODES)" >&2; exit 2; }
done
# The IDM side's labels and run folders (its own, apart, with MIRROR and ORACLE).
LABEL_ARGS=() MIRRORED=
if [ "$MIRROR" = 1 ]; then LABEL_ARGS=(--mirror); MIRRORED=_mirror; fi
IDM_LABELS=$OUT/labels$MIRRORED  # what the IDM writes
LABELS=$IDM_LABELS${ORACLE:+_oracle_$ORACLE}  # what the IDM side trains on
IDM_SIDE=idm_labels$MIRRORED${ORACLE:+_oracle_$ORACLE}
IDM_ARGS=()
if [ "$SOFT" = 1 ]; then IDM_SIDE+=_soft; IDM_ARGS=(--soft-camera); fi
TRUE_SIDE=true_labels TRUE_ARGS=()
if [ "$BC_SEED" != 0 ]; then
  [[ $BC_SEED =~ ^[0-9]+$ ]] || { echo "BC_SEED must be a whole number, got $BC_SEED" >&2; exit 2; }
  IDM_SIDE+=_seed$BC_SEED TRUE_SIDE+=_seed$BC_SEED
  IDM_ARGS+=(--seed "$BC_SEED") TRUE_ARGS+=(--seed "$BC_SEED")
fi
want() { [[ " $STAGES " == *" $1 "* ]]; }
side_wanted() { [[ " $ONLY " == *" $1 "* ]]; }

if want data; then
  # The demonstrations: the first 160 are sticks_prior_g2's, all 320 sticks_prior_g2_320's.
  $VPT data generate "${GEN[@]}" --episodes 320 --seed 2000 --out "$OUT/data"
  $VPT data generate "${GEN[@]}" --episodes 16 --seed 9000 --out "$OUT/val"
fi

# The 320 demonstrations in order (the first 160 are the first two stages' data).
demos() {
  VIDEOS=("$OUT"/data/*.mp4)
  [ ${#VIDEOS[@]} -eq 320 ] || { echo "expected 320 videos in $OUT/data, found ${#VIDEOS[@]}" >&2; exit 1; }
}

if want label; then
  demos  # two folders, so that the first two stages can train on the first 160 videos alone
  $VPT idm label "${VIDEOS[@]:0:160}" --model "$IDM.model" --weights "$IDM.weights" ${LABEL_ARGS[@]+"${LABEL_ARGS[@]}"} \
    --out "$IDM_LABELS/a"
  $VPT idm label "${VIDEOS[@]:160}" --model "$IDM.model" --weights "$IDM.weights" ${LABEL_ARGS[@]+"${LABEL_ARGS[@]}"} \
    --out "$IDM_LABELS/b"
  if [ -n "$ORACLE" ]; then  # finished copies are skipped: resumable like the labelling
    for part in a b; do "$PYTHON" scripts/oracle_labels.py "$IDM_LABELS/$part" "$LABELS/$part" --where "$ORACLE"; done
  fi
fi

# finished DIR: a BC stage is done. Training writes the policy files at every checkpoint, so
# they alone do not say so; summary.json is written last. Copied-in policies have no checkpoint.
finished() { [ -f "$1/summary.json" ] || { [ -f "$1/policy.weights" ] && [ ! -f "$1/checkpoint.pt" ]; }; }

# recipe RUN FIRST ALL [OPTION...]: the recipe's stages (those in STAGES, not yet done) on one
# side's data: FIRST = the first 160 videos' targets, ALL = all 320; OPTIONs go to every stage.
recipe() {
  local run=$1 first=$2 all=$3 stage args
  shift 3
  for stage in bc1 bc2 bc3 bc4; do
    want $stage && ! finished "$run/$stage" || continue
    case $stage in
      bc1) args=(--data "$first" --preset tiny --steps 3000 --lr 1e-3 --eval-every 500) ;;
      bc2) args=(--data "$first" --init-model "$run/bc1/policy.model" --init-weights "$run/bc1/policy.weights"
                 --steps 1500 --lr 5e-4 --eval-every 500) ;;
      bc3) args=(--data "$all" --init-model "$run/bc2/policy.model" --init-weights "$run/bc2/policy.weights"
                 --steps 2400 --lr 5e-4 --gui-weight 2 --eval-every 400) ;;
      bc4) args=(--data "$all" --init-model "$run/bc3/policy.model" --init-weights "$run/bc3/policy.weights"
                 --steps 1200 --lr 5e-4 --gui-weight 2 --eval-every 400) ;;
    esac
    if [ "$NULL_ACTIONS" = 1 ] || [ $stage = bc4 ]; then args+=(--null-actions); fi  # bc4: the waits stage
    args+=("$@")
    OMP_NUM_THREADS=1 $TORCHRUN --standalone --nproc_per_node 2 "$VPT" bc train "${args[@]}" \
      --batch-size 4 --chunk 32 --precision auto --null-rule "$NULL_RULE" --val-data "$OUT/val" --out "$run/$stage"
  done
}
side_wanted idm_labels && recipe "$OUT/$IDM_SIDE" "$LABELS/a" "$LABELS" ${IDM_ARGS[@]+"${IDM_ARGS[@]}"}
if [ "$TRAIN_TRUE" = 1 ] && side_wanted true_labels; then
  if want bc1 || want bc2; then  # (bc3 and bc4 train on $OUT/data itself)
    demos  # true labels: the first 160 recordings, linked into a folder of their own
    mkdir -p "$OUT/data_a"
    for v in "${VIDEOS[@]:0:160}"; do
      for f in "$v" "${v%.mp4}.jsonl"; do ln -sf "$(realpath "$f")" "$OUT/data_a/"; done
    done
  fi
  recipe "$OUT/$TRUE_SIDE" "$OUT/data_a" "$OUT/data" ${TRUE_ARGS[@]+"${TRUE_ARGS[@]}"}
fi

# evaluate POLICY REPORT: the policy in the RL world at gui_scale 2 on EVAL_SEEDS' worlds (the
# same for every policy), one report per seed in REPORT/seed_S. A report whose report.json
# exists (written last) is done; a split run can copy one in.
evaluate() {
  local spec seed videos=2
  for spec in $EVAL_SEEDS; do
    seed=${spec%%:*}
    [ -f "$2/seed_$seed/report.json" ] || OMP_NUM_THREADS=1 $VPT eval --model "$1.model" --weights "$1.weights" --task vpt/ObtainDiamondPickaxe-v0 \
      --episodes "${spec#*:}" --seed "$seed" --num-envs 2 --max-steps 1000 --world "$WORLD" --videos $videos --out "$2/seed_$seed"
    videos=0
  done
}
# evaluate_side_by_side POLICY:REPORT...: evaluate each, one core each at once (an evaluation
# plays on one core); set -e: a failed one stops the script at its wait.
evaluate_side_by_side() {
  local spec pid pids=()
  for spec in "$@"; do
    evaluate "${spec%%:*}" "${spec#*:}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
# table NAME...: OUT/eval/table.md, the named evaluations pooled over their seeds (per-item
# success with standard errors; ratios to the last, the true side: issue 8's 90% bar).
table() {
  local name spec dirs args=()
  for name in "$@"; do
    dirs=()
    for spec in $EVAL_SEEDS; do dirs+=("$OUT/eval/$name/seed_${spec%%:*}"); done
    args+=("$name=$(IFS=,; echo "${dirs[*]}")")
  done
  mkdir -p "$OUT/eval"
  "$PYTHON" scripts/pool_evals.py --ref "${!#}" "${args[@]}" > "$OUT/eval/table.md"
  cat "$OUT/eval/table.md"
}
if want eval; then
  # A retrained true side is reported apart from TRUE_PRIOR's, so both can live in one OUT.
  true_side=true_labels:$TRUE_PRIOR
  [ "$TRAIN_TRUE" = 1 ] && true_side=${TRUE_SIDE/true_labels/true_labels_trained}:$OUT/$TRUE_SIDE/bc3/policy
  evaluate_side_by_side "$OUT/$IDM_SIDE/bc3/policy:$OUT/eval/$IDM_SIDE" "${true_side#*:}:$OUT/eval/${true_side%%:*}"
  table "$IDM_SIDE" "${true_side%%:*}"
fi

if want eval4; then  # both sides' bc4 (the true side's with TRAIN_TRUE=1), as eval
  sides=("$IDM_SIDE")
  [ "$TRAIN_TRUE" = 1 ] && sides+=("$TRUE_SIDE")
  specs=()
  for side in "${sides[@]}"; do specs+=("$OUT/$side/bc4/policy:$OUT/eval/${side}_bc4"); done
  evaluate_side_by_side "${specs[@]}"
fi
