"""Results over seeds: mean ± sample std, and when a difference counts as a gain.

The project's rule (README, "Standards for results"): a difference between two rows is a gain
only when it exceeds the two rows' seed spreads together (std_a + std_b); a smaller one is
"within seed spread". Used by the DANNet ablation and the rain experiment tables.
"""

from __future__ import annotations

import statistics


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample std (n - 1; 0 for one value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def verdict(before: tuple[float, float], after: tuple[float, float]) -> str:
    """'gain' / 'within seed spread' / 'drop' for the step from `before` to `after` (mean, std)."""
    diff = after[0] - before[0]
    if diff > before[1] + after[1]:
        return "gain"
    return "drop" if diff < -(before[1] + after[1]) else "within seed spread"
