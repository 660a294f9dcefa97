"""evaluate: JSON scores agree with a numpy recomputation from the saved label PNGs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IMAGENET_MEAN, IMAGENET_STD
from training.__main__ import main as training_main
from training.engine import checkpoint as ckpt
from training.models.erf_pspnet import ERFPSPNet

from .dsanet_fixture import write_tiny_dsanet

KW = {"num_classes": 19, "channels": [8, 16, 32], "head_channels": 16}


def _write_segmenter(path):
    torch.manual_seed(0)
    model = ERFPSPNet(**KW)
    # Bias the classifier towards road / sky / car so the scores are not all zero.
    with torch.no_grad():
        model.classifier.bias.fill_(-5.0)
        model.classifier.bias[[0, 10, 13]] = torch.tensor([2.0, 2.0, 1.9])
    meta = {"task": "segmentation", "num_classes": 19, "class_names": list(CITYSCAPES_CLASSES),
            "ignore_index": 255, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
            "input_size": [32, 64]}
    ckpt.save_checkpoint(path / "checkpoints", 5, {"model": (ckpt.ModuleSpec("erf_pspnet", KW), model)},
                         extra_meta=meta)
    return path


def _numpy_scores(pred_dir, gt_dir):
    conf = np.zeros((19, 19), np.int64)
    for gt_file in sorted(gt_dir.glob("*_gtFine_labelTrainIds.png")):
        name = gt_file.name.replace("_gtFine_labelTrainIds.png", "")
        gt = np.asarray(Image.open(gt_file)).astype(np.int64)
        pred = np.asarray(Image.open(pred_dir / f"{name}.png")).astype(np.int64)
        keep = gt != 255
        np.add.at(conf, (gt[keep], pred[keep]), 1)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    iou = tp[union > 0] / union[union > 0] * 100
    return float(iou.mean()), float(tp.sum() / conf.sum() * 100)


def test_evaluate_json_and_saved_predictions(tiny_cityscapes, tmp_path):
    run = _write_segmenter(tmp_path / "seg")
    preds, out_json = tmp_path / "preds", tmp_path / "scores.json"
    argv = ["evaluate", "--checkpoint", str(run), "--dataset", "cityscapes", "--root", str(tiny_cityscapes),
            "--split", "val", "--save-predictions", str(preds), "--out", str(out_json), "--device", "cpu"]
    assert training_main(argv) == 0
    scores = json.loads(out_json.read_text())
    assert set(scores) >= {"mIoU", "mAcc", "aAcc", "per_class_iou"} and scores["num_images"] == 3
    assert set(scores["per_class_iou"]) == set(CITYSCAPES_CLASSES)
    miou, aacc = _numpy_scores(preds / "labels", tiny_cityscapes / "gtFine" / "val" / "synth")
    assert abs(scores["mIoU"] - miou) < 1e-6 and abs(scores["aAcc"] - aacc) < 1e-6
    overlays = sorted((preds / "overlays").glob("*.png"))
    assert len(overlays) == 3 and np.asarray(Image.open(overlays[0])).shape == (32, 64, 3)


def test_evaluate_rainify_and_derain(tiny_cityscapes, tmp_path):
    run = _write_segmenter(tmp_path / "seg")
    dsanet, bank = write_tiny_dsanet(tmp_path)
    base = ["evaluate", "--checkpoint", str(run), "--dataset", "cityscapes", "--root", str(tiny_cityscapes),
            "--split", "val", "--device", "cpu"]
    assert training_main([*base, "--save-predictions", str(tmp_path / "clean"),
                          "--out", str(tmp_path / "c.json")]) == 0
    assert training_main([*base, "--rainify", str(dsanet), "--rain-bank", str(bank), "--intensity", "1.0",
                          "--save-predictions", str(tmp_path / "rainy"),
                          "--out", str(tmp_path / "r.json")]) == 0
    assert training_main([*base, "--derain", str(dsanet), "--out", str(tmp_path / "d.json")]) == 0
    outputs = [json.loads((tmp_path / f).read_text()) for f in ("c.json", "r.json", "d.json")]
    assert [o["condition"] for o in outputs] == ["as-is", "rainify", "derain"]
    assert outputs[0]["per_class_iou"]["bus"] is None  # absent class: null, strict JSON
    # The rainified run fed the model other images (the overlays show what the model saw).
    clean = np.asarray(Image.open(sorted((tmp_path / "clean" / "overlays").glob("*.png"))[0]), np.int16)
    rainy = np.asarray(Image.open(sorted((tmp_path / "rainy" / "overlays").glob("*.png"))[0]), np.int16)
    assert np.abs(clean - rainy).mean() > 1.0
    assert training_main([*base, "--rainify", str(dsanet)]) == 2  # no bank: refused


def test_label_ids_predictions_for_benchmark_servers(tiny_cityscapes, tmp_path, capsys):
    from cityscapesscripts.helpers.labels import labels

    run = _write_segmenter(tmp_path / "seg")
    preds = tmp_path / "preds"
    base = ["evaluate", "--checkpoint", str(run), "--dataset", "cityscapes", "--root", str(tiny_cityscapes),
            "--split", "val", "--device", "cpu", "--label-ids"]
    assert training_main([*base, "--save-predictions", str(preds)]) == 0
    # independent reference: cityscapesScripts' own label list, train id -> the label carrying it
    to_id = {lab.trainId: lab.id for lab in labels if 0 <= lab.trainId < 255 and lab.id >= 0}
    files = sorted((preds / "labels").glob("*.png"))
    assert len(files) == 3
    for train_file in files:
        train_ids = np.asarray(Image.open(train_file))
        label_ids = np.asarray(Image.open(preds / "labelIds" / train_file.name))
        expected = np.vectorize(lambda t: to_id.get(int(t), 0))(train_ids)
        assert np.array_equal(label_ids, expected) and label_ids.dtype == np.uint8
        assert {7, 23} & set(np.unique(label_ids).tolist())   # road / sky: the biased classifier's picks
    capsys.readouterr()
    with pytest.raises(SystemExit, match="give --save-predictions"):
        training_main(base)
