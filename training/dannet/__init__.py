"""DANNet: one-stage night adaptation (relight -> segment, output-space adversarial, static loss)."""
