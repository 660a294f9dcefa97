"""Segmenter training and evaluation: config schema, data mixing, rain augmentations, the
training loop (optionally End-to-End with DSANet), evaluation. Commands: train-segmenter,
evaluate, experiment. See docs/segmenters.md."""
