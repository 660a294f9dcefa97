#!/usr/bin/env bash
# The measured drive of docs/ros.md ("The measured drive", 2026-11-30), in the order run. One thread
# each. The trainings and exports were run once (in the cond17 worktree); the smoothing re-run
# (bottom) used those exported models, copied, and reproduced that run's quality numbers exactly.
set -e
python -m training generate-scenes --out runs/cond17/scenes --count 400 --size 128x256 --night \
    --seed 5 --splits train=320,val=40,test=40 --quiet --workers 1
python -m training train-segmenter --config config/training/erf-pspnet_condition-clear_synth-128x256.yaml
python -m training train-segmenter --config config/training/erf-pspnet_condition-rain-finetune_synth-128x256.yaml
python -m training train-segmenter --config config/training/erf-pspnet_condition-night-finetune_synth-128x256.yaml
python -m training train-condition --config config/training/condition-net_synth-64x128.yaml
for m in clear rain night; do
  python -m export onnx --checkpoint runs/cond17/seg_$m --out runs/cond17/models/seg_$m.onnx
done
python -m export onnx --checkpoint runs/cond17/condition --out runs/cond17/models/condition.onnx
python -m training evaluate-condition --checkpoint runs/cond17/condition --source scenes \
    --root runs/cond17/scenes --split test --other-renderer --out runs/cond17/condition/eval_test.json
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1 ROS_DOMAIN_ID=93
for out in runs/cond17/drive runs/cond17/drive_rerun; do   # the first, alpha-0.6 run (replaced)
  python scripts/condition_drive.py --out $out \
      --clear-model runs/cond17/models/seg_clear.onnx --rain-model runs/cond17/models/seg_rain.onnx \
      --night-model runs/cond17/models/seg_night.onnx --condition-model runs/cond17/models/condition.onnx \
      --frames-per-condition 60 --size 128x256 --val-seed 10 --seeds 0,1,2 --hold-frames 3 --smoothing-alpha 0.6
done
# The smoothing re-run (docs/condition_drive/smoothing_choice.md), into a fresh runs/ folder.
# First protocol: settings chosen on drive 10 (emulated sweep); the files in this folder.
MODELS="--clear-model runs/cond17/models/seg_clear.onnx --rain-model runs/cond17/models/seg_rain.onnx \
  --night-model runs/cond17/models/seg_night.onnx --condition-model runs/cond17/models/condition.onnx"
python scripts/condition_drive.py --out runs/cond17/drive $MODELS \
    --frames-per-condition 60 --size 128x256 --val-seed 10 --seeds 0,1,2 --hold-frames 3 \
    --smoothing-alpha 0.9 --smoothing-keep-below 0.45 --smoothing-reset-difference 20
# Second protocol: validation drives 11 and 12 rendered only (no replays), the settings chosen on
# drives 10-12 (emulated sweep), then fresh test drives 3, 4, 5; the files in fresh_seeds/.
python scripts/condition_drive.py --out runs/cond17/drive_val $MODELS --runs= --seeds 11,12 \
    --frames-per-condition 60 --size 128x256
python scripts/condition_drive.py --out runs/cond17/drive_fresh $MODELS \
    --frames-per-condition 60 --size 128x256 --val-seed 10 --seeds 3,4,5 --hold-frames 3 \
    --smoothing-alpha 0.65 --smoothing-keep-below 0.55 --smoothing-reset-difference 40
