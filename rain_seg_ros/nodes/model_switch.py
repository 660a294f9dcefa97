"""Which segmentation model serves a frame, given the estimated driving condition (ROS-free).

The node is given one default model (`model_path`) and optionally one model per condition
(`models: ["rain:/m/rain.onnx", "night:/m/dannet.onnx"]`). A condition without a model of its
own falls back: "rain+night" to the night model, then the rain one; anything else to the
default. The switch has hysteresis: the model wanted by the estimate must be wanted for
`hold_frames` consecutive estimates before it becomes active, and the frame that completes
the run is already served by it (all models are loaded at start, so switching costs nothing).
Hysteresis runs on the wanted *model*, not the raw condition: an estimate flickering between
two conditions that share a model never switches.

    >>> s = ModelSwitcher({"default", "rain"}, hold_frames=2)
    >>> s.update("rain"), s.update("rain"), s.active
    (None, Switch(frame=1, old='default', new='rain', condition='rain'), 'rain')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT = "default"  # the key of the model_path model
CONDITIONS = ("clear", "rain", "night", "rain+night")
FALLBACK = {"clear": ("clear",), "rain": ("rain",), "night": ("night",),
            "rain+night": ("rain+night", "night", "rain")}


def parse_models(entries: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """`["rain:/a.onnx", ...]` -> ({condition: path}, problems, one line each).

    Split at the first ":" (condition names hold none; paths may). Unknown conditions,
    empty paths and repeated conditions are problems and left out.
    """
    models: dict[str, str] = {}
    problems: list[str] = []
    for entry in entries:
        condition, sep, path = entry.partition(":")
        condition, path = condition.strip(), path.strip()
        if not sep or condition not in CONDITIONS or not path:
            problems.append(f"models entry {entry!r} is not CONDITION:PATH with CONDITION one of "
                            f"{', '.join(CONDITIONS)}; ignoring it")
        elif condition in models:
            problems.append(f"models names {condition!r} twice; keeping {models[condition]!r}")
        else:
            models[condition] = path
    return models, problems


def model_for(condition: str, available: Iterable[str]) -> str:
    """The model key serving `condition`: its own, its fallback, else DEFAULT."""
    have = set(available)
    return next((c for c in FALLBACK.get(condition, ()) if c in have), DEFAULT)


@dataclass(frozen=True)
class Switch:
    frame: int       # index of the estimate (0-based) whose frame the new model serves first
    old: str
    new: str
    condition: str   # the estimated condition that triggered it


class ModelSwitcher:
    """Hysteresis over the model each estimate wants.

    Args:
        available: model keys loaded (DEFAULT plus conditions with a model).
        hold_frames: consecutive estimates wanting the same other model before it becomes active
            (1 = switch at once).
        log_size: switches kept in `log` (the count in `switches` is unbounded).
    """

    def __init__(self, available: Iterable[str], hold_frames: int = 5, log_size: int = 100) -> None:
        if hold_frames < 1:
            raise ValueError(f"hold_frames must be >= 1, got {hold_frames}")
        self.available = set(available) | {DEFAULT}
        self.hold_frames = hold_frames
        self.active = DEFAULT
        self.switches = 0
        self.log: deque[Switch] = deque(maxlen=log_size)
        self._frame = -1
        self._candidate = DEFAULT
        self._run = 0

    def update(self, condition: str) -> Switch | None:
        """Feed one estimate; returns the Switch when this estimate makes another model active."""
        self._frame += 1
        wanted = model_for(condition, self.available)
        if wanted == self.active:
            self._candidate, self._run = wanted, 0
            return None
        self._run = self._run + 1 if wanted == self._candidate else 1
        self._candidate = wanted
        if self._run < self.hold_frames:
            return None
        switch = Switch(self._frame, self.active, wanted, condition)
        self.active, self._run = wanted, 0
        self.switches += 1
        self.log.append(switch)
        return switch
