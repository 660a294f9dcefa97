"""`python -m training <command> [args]` — every training-side command.

Example:
    python -m training generate-scenes --out /tmp/scenes --count 8 --size 256x512 --seed 0
    python -m training <command> --help
"""

from __future__ import annotations

import sys

from rain_seg_ros.cli import dispatch

# command -> (module with main(argv) -> int, one-line summary). Imports are lazy so that
# `--help` and light commands do not pay for torch.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate-scenes": ("training.commands.generate_scenes",
                        "procedural driving scenes: clean/rain/night twins, labels, depth"),
    "make-drive-bag": ("training.commands.make_drive_bag",
                       "a short procedural rainy drive as a rosbag2 (camera + ground-truth masks)"),
    "dataset-info": ("training.commands.dataset_info",
                     "sample count and class pixel counts of a dataset split (JSON)"),
    "evaluate-masks": ("training.commands.evaluate_masks",
                       "mIoU / mAcc / aAcc of predicted label PNGs against ground truth (JSON)"),
    "evaluate-images": ("training.commands.evaluate_images",
                        "PSNR / SSIM of restored images against references (JSON)"),
    "train-dsanet": ("training.commands.train_dsanet", "train DSANet on rain/clean pairs"),
    "rainify": ("training.commands.rainify", "rainy copies of a labelled dataset with DSANet"),
    "derain": ("training.commands.derain", "derain a folder of images with DSANet"),
    "evaluate-derain": ("training.commands.evaluate_derain",
                        "PSNR / SSIM of DSANet deraining on a rain-pair dataset (JSON)"),
    "train-segmenter": ("training.commands.train_segmenter",
                        "train or fine-tune DeepLabV3 / SegFormer / ERF-PSPNet"),
    "train-dannet": ("training.commands.train_dannet",
                     "DANNet night adaptation (relight -> segment), exported as one segmenter"),
    "evaluate": ("training.commands.evaluate", "evaluate a segmenter checkpoint on a dataset"),
    "import-checkpoint": ("training.commands.import_checkpoint",
                          "a pretrained HF SegFormer folder or torchvision DeepLabV3 .pth as a checkpoint"),
    "experiment": ("training.commands.experiment",
                   "experiments end to end: rain (thesis comparison), dannet, night (CycleGAN)"),
    "train-spade": ("training.commands.train_spade",
                    "train the SPADE mask->image generator (frozen by train-mask-restorer)"),
    "train-mask-restorer": ("training.commands.train_mask_restorer",
                            "train a mask generator (coarse or x8 masks -> fine) through frozen SPADE"),
    "evaluate-mask-restorer": ("training.commands.evaluate_mask_restorer",
                               "pixel acc / mIoU / FID / FCN-score of a mask restorer (JSON)"),
    "restore-masks": ("training.commands.restore_masks",
                      "fine label PNGs from coarse or low-res ones with a mask restorer"),
    "experiment-mask-restoration": ("training.commands.experiment_mask_restoration",
                                    "the mask-restoration ablation tables and closed loop, end to end"),
    "train-rain-detector": ("training.commands.train_rain_detector",
                            "a small rain/no-rain classifier on procedural rainy vs clean twins"),
    "measure-rain": ("training.commands.measure_rain",
                     "detector verdict, streak and grid-artefact measurements of images (JSON)"),
    "train-cyclegan": ("training.commands.train_cyclegan", "train CycleGAN day <-> night on unpaired images"),
    "translate": ("training.commands.translate",
                  "day->night or night->day copies of a labelled dataset with CycleGAN"),
    "train-condition": ("training.commands.train_condition",
                        "train the clear / rain / night + rain-intensity condition estimator"),
    "evaluate-condition": ("training.commands.evaluate_condition",
                           "confusion matrix and intensity error of a condition estimator (JSON)"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("python -m training", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
