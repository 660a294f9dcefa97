#!/usr/bin/env bash
# Commands run by `make demo`, in order.
set -e
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST FASTDDS_DEFAULT_PROFILES_FILE=/work/main/config/fastdds_shm.xml ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-180}
# scripts/demo.py --seed 0: the seed of every training below
# procedural driving scenes: clean / rain / night twins with labels and depth
python -m training generate-scenes --out out/demo/scenes --count 64 --size 128x256 --seed 0 --splits train=0.75,val=0.125,test=0.125 --rain-intensity 0.4,1.0 --night --overwrite --workers 2
# contact sheet of generated samples
python -m training.scenes.contact_sheet --out out/demo/scenes_contact_sheet.png
# dataset check: the Cityscapes reader on the generated rainy split
python -m training dataset-info --dataset cityscapes --root out/demo/scenes --split train --opt variant=rain
# how much the rendered rain degrades the images (rainy vs clean, Y channel)
python -m training evaluate-images --pred out/demo/scenes/rain_pairs/test/rain --gt out/demo/scenes/rain_pairs/test/norain --y-channel
# a clear -> rain -> night drive along one generated street, as a rosbag2 (rgb8 camera, mono8 ground truth, the true condition per frame)
python -m training make-drive-bag --out out/demo/drive_bag --size 128x256 --conditions clear:24,rain:24,night:24 --seed 3 --rain-intensity 0.8 --image-topic /camera/image_raw --gt-topic /camera/gt_mask --image-dir out/demo/drive_frames --overwrite
# a tiny DSANet on the generated rain/clean pairs
python -m training train-dsanet --config config/training/dsanet_demo_synth-64x64.yaml data.root=out/demo/scenes/rain_pairs out_dir=out/demo/dsanet steps=150 save_every=150 image_every=150 seed=0
# DSANet-rainified copies of the clean scenes (labels copied)
python -m training rainify --dsanet out/demo/dsanet --images out/demo/scenes/cityscapes --rain-refs out/demo/scenes/rain_pairs/train/rain --out out/demo/scenes_rainified --styles 8 --intensity 0.5,1.0 --seed 0
# ERF-PSPNet trained on clean scenes (the common start of the three models)
python -m training train-segmenter --config config/training/erf-pspnet_demo-clean_synth-128x256.yaml 'train=[{root: out/demo/scenes}]' 'val=[{root: out/demo/scenes, split: val}]' batch_size=8 out=out/demo/seg_base steps=300 val_every=300 ckpt_every=300 seed=0
# the common start fine-tuned on clean scenes only (the clean-trained model)
python -m training train-segmenter --config config/training/erf-pspnet_demo-clean-finetune_synth-128x256.yaml 'train=[{root: out/demo/scenes}]' 'val=[{root: out/demo/scenes, split: val}]' batch_size=8 init_checkpoint=out/demo/seg_base out=out/demo/seg_clean steps=150 val_every=150 ckpt_every=150 seed=0
# the common start fine-tuned on clean + DSANet-rainified scenes (1:1)
python -m training train-segmenter --config config/training/erf-pspnet_demo-rain-finetune_synth-128x256.yaml 'train=[{root: out/demo/scenes}, {root: out/demo/scenes_rainified}]' 'val=[{root: out/demo/scenes, split: val}]' batch_size=8 init_checkpoint=out/demo/seg_base out=out/demo/seg_rain steps=150 val_every=150 ckpt_every=150 seed=0
# the common start fine-tuned on clean + night twins (1:1; labelled night data)
python -m training train-segmenter --config config/training/erf-pspnet_demo-night-finetune_synth-128x256.yaml 'train=[{root: out/demo/scenes}, {root: out/demo/scenes, kwargs: {variant: night}}]' 'val=[{root: out/demo/scenes, split: val, kwargs: {variant: night}}]' batch_size=8 init_checkpoint=out/demo/seg_base out=out/demo/seg_night steps=100 val_every=100 ckpt_every=100 seed=0
# a clear / rain / night estimator on the scenes' clean, rain and night twins
python -m training train-condition --config config/training/condition-net_demo_synth-64x128.yaml 'train=[{root: out/demo/scenes}]' 'val=[{root: out/demo/scenes, split: val}]' out=out/demo/condition steps=60 batch_size=16 val_every=60 ckpt_every=60 seed=0
# export the estimator to ONNX (+ sidecar JSON)
python -m export onnx --checkpoint out/demo/condition --out out/demo/models/condition.onnx
# export the clean model to ONNX (+ sidecar JSON)
python -m export onnx --checkpoint out/demo/seg_clean --out out/demo/models/erf-pspnet_clean.onnx
# check the clean ONNX model against its PyTorch checkpoint on drive frames
python -m export verify --model out/demo/models/erf-pspnet_clean.onnx --checkpoint out/demo/seg_clean --images out/demo/drive_frames --max-images 4
# export the rain model to ONNX (+ sidecar JSON)
python -m export onnx --checkpoint out/demo/seg_rain --out out/demo/models/erf-pspnet_rain.onnx
# check the rain ONNX model against its PyTorch checkpoint on drive frames
python -m export verify --model out/demo/models/erf-pspnet_rain.onnx --checkpoint out/demo/seg_rain --images out/demo/drive_frames --max-images 4
# export the night model to ONNX (+ sidecar JSON)
python -m export onnx --checkpoint out/demo/seg_night --out out/demo/models/erf-pspnet_night.onnx
# check the night ONNX model against its PyTorch checkpoint on drive frames
python -m export verify --model out/demo/models/erf-pspnet_night.onnx --checkpoint out/demo/seg_night --images out/demo/drive_frames --max-images 4
# replay the drive through segmentation_node (clean model) over DDS, score vs GT
python -m rain_seg_ros.replay.replay_eval out/demo/drive_bag --image-topic /camera/image_raw --gt-topic /camera/gt_mask --model out/demo/models/erf-pspnet_clean.onnx --backend onnxruntime --rate 0.0 --out out/demo/replay_clean
# replay the drive through segmentation_node (rain model) over DDS, score vs GT
python -m rain_seg_ros.replay.replay_eval out/demo/drive_bag --image-topic /camera/image_raw --gt-topic /camera/gt_mask --model out/demo/models/erf-pspnet_rain.onnx --backend onnxruntime --rate 0.0 --out out/demo/replay_rain
# replay the drive through segmentation_node (night model) over DDS, score vs GT
python -m rain_seg_ros.replay.replay_eval out/demo/drive_bag --image-topic /camera/image_raw --gt-topic /camera/gt_mask --model out/demo/models/erf-pspnet_night.onnx --backend onnxruntime --rate 0.0 --out out/demo/replay_night
# replay the drive through segmentation_node (the switching graph) over DDS, score vs GT
python -m rain_seg_ros.replay.replay_eval out/demo/drive_bag --image-topic /camera/image_raw --gt-topic /camera/gt_mask --model out/demo/models/erf-pspnet_clean.onnx --condition-model out/demo/models/condition.onnx --models rain:out/demo/models/erf-pspnet_rain.onnx,night:out/demo/models/erf-pspnet_night.onnx --switch-hold-frames 3 --backend onnxruntime --rate 0.0 --out out/demo/replay_switching
