"""Mask restoration (issue 15, docs/mask_restoration.md): a frozen SPADE mask->image generator
teaches a mask generator to turn coarse or x8-downsampled labels into fine ones."""
