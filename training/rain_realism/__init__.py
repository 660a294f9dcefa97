"""How rain realism is measured (issue 16): a small rain/no-rain detector trained only on real
procedural rainy vs clean images, and streak/artefact measurements of images and rain layers.
See docs/dsanet.md, "How rain realism is measured"."""
