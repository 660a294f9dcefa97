#!/usr/bin/env bash
# The measured drive of docs/ros.md ("The measured drive"), every command behind the files in this
# folder, in the order run (2026-11-30, smooth17b worktree; one thread each, on a shared 2-core
# machine). The models were rebuilt from scratch with the first block; the rebuilt models gave the
# committed quality numbers of every run without smoothing to the last digit (24 runs on 6 drives).
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
# condition_eval_test.json (not re-run with the rebuilt models):
python -m training evaluate-condition --checkpoint runs/cond17/condition --source scenes \
    --root runs/cond17/scenes --split test --other-renderer --out runs/cond17/condition/eval_test.json
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1 ROS_DOMAIN_ID=93
MODELS="--clear-model runs/cond17/models/seg_clear.onnx --rain-model runs/cond17/models/seg_rain.onnx \
  --night-model runs/cond17/models/seg_night.onnx --condition-model runs/cond17/models/condition.onnx"
SWEEP="--drives runs/cond17/sweep --seeds 10,11,12 --map clear:rain,rain:rain,night:night \
  --frames-per-condition 60 --size 128x256 --hold-frames 3"
# Validation drives 10, 11, 12 rendered (no replays).
python scripts/condition_drive.py --out runs/cond17/sweep --runs= --seeds 10,11,12 \
    --frames-per-condition 60 --size 128x256 $MODELS
# The sweep of smoothing_choice.md (the rule was committed before it ran): 1 min 39 s.
python scripts/smoothing_sweep.py $SWEEP $MODELS \
    --flows off,farneback@64,farneback@128,farneback_fine@128,dis_ultrafast@128,dis_fast@128,dis_fast@256 \
    --resets 40 --alphas 0.5,0.6,0.7,0.8,0.9 --keep-below 0.45,0.5,0.55,0.6,0.7,1 \
    --out docs/condition_drive/smoothing_sweep_val10-12
# The test run, through the node, with the chosen setting (map chosen on drive 10): six drives.
python scripts/condition_drive.py --out runs/cond17/drive17b $MODELS \
    --frames-per-condition 60 --size 128x256 --val-seed 10 --seeds 0,1,2,3,4,5 --hold-frames 3 \
    --smoothing-alpha 0.7 --smoothing-keep-below 0.6 --smoothing-reset-difference 40 \
    --smoothing-flow --smoothing-flow-method dis_fast --smoothing-flow-width 256
# (summary.{md,json} and <drive>/report_<run>.md here are copies of runs/cond17/drive17b; the
# sweeps also write OUT.json, the same numbers with absolute mIoU / flip share, not committed.)
# The earlier protocols' grid (flow off / the first Farneback, reset 20 / 40), regenerated with the
# committed command for the history in smoothing_choice.md:
python scripts/smoothing_sweep.py $SWEEP $MODELS --flows off,farneback@64 --resets 20,40 \
    --alphas 0.5,0.6,0.65,0.7,0.75,0.8,0.85,0.9 --keep-below 0.4,0.45,0.5,0.55,0.6,0.7,0.8,1 \
    --out docs/condition_drive/smoothing_sweep_val10-12_first_grid
# Per-frame cost of the smoothing (smoothing_bench.md):
python scripts/smoothing_bench.py --sizes 128x256,512x1024 --frames 30 --threads 1 --keep-below 0.6 \
    --flows off,farneback@64,farneback@128,farneback_fine@128,dis_ultrafast@128,dis_fast@128,dis_fast@256 \
    --out docs/condition_drive/smoothing_bench.md
