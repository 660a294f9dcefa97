"""CycleGAN day <-> night (issue 14): networks in training.models, the loop in trainer.py."""
