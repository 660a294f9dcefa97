"""segmentation_node's condition side: the estimator, the model per condition, the switch, and
the `~/condition` message. Kept apart from the node so the node file stays a readable flow.

Parameters (see CONDITION_PARAMS): `condition_model_path` (an exported condition estimator) and
`models`, a string array of CONDITION:PATH entries, one per line in perception.yaml:

    models: ["rain:/models/segformer_rain.onnx", "night:/models/dannet.onnx"]

A string array rather than parallel `condition_names` / `condition_models` arrays: each condition
sits next to its model, so a params file cannot pair them wrongly by position. `model_path`
stays the default model (clear, and any condition without a model of its own).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from rain_seg_ros.nodes.common import Param
from rain_seg_ros.nodes.model_switch import DEFAULT, ModelSwitcher, Switch, parse_models

CONDITION_PARAMS = (
    Param("condition_model_path", "", "Exported condition estimator (task condition); empty: no "
          "estimation, model_path serves every frame.", read_only=True),
    Param("models", [], "Model per condition as CONDITION:PATH entries (clear, rain, night, rain+night), "
          "e.g. [rain:/m/rain.onnx, night:/m/night.onnx]; conditions without one use model_path.",
          read_only=True),
    Param("switch_hold_frames", 5, "Consecutive estimates that must want another model before it "
          "becomes active (hysteresis).", 1, 10000, read_only=True),
    Param("condition_every_n_frames", 1, "Run the condition estimator on every Nth batch of frames "
          "(the last estimate holds in between).", 1, 10000, read_only=True),
)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class ConditionRouter:
    """Loads the estimator and the per-condition models, and picks the model for each batch.

    Args:
        params: the node's parameter values (CONDITION_PARAMS and the backend ones).
        open_model: path -> an open Segmenter, raising on failure.
        report: (parameter, one-line error) of a problem that lasts; the node logs and flags it.
    """

    def __init__(self, params: dict[str, Any], open_model: Callable[[str], Any],
                 report: Callable[[str, str], None]) -> None:
        self.estimator: Any = None
        self.models: dict[str, Any] = {}
        self.problem = ""  # why conditions are not served, "" when they are (or are not asked for)
        self.every_n = int(params["condition_every_n_frames"])
        self.last_estimate: Any = None
        self._batches = 0
        wanted, problems = parse_models(params["models"])
        for problem in problems:
            report("models", problem)
        for condition, path in wanted.items():
            try:
                self.models[condition] = open_model(path)
            except Exception as err:  # one bad model must not stop the others or the default
                report("models", f"cannot load the {condition} model {path!r}: {_first_line(err)}; "
                       f"{condition} frames use model_path instead")
        self.switcher = ModelSwitcher(self.models, hold_frames=int(params["switch_hold_frames"]))
        path = params["condition_model_path"].strip()
        if not path:
            if self.models:
                self.problem = ("models is set but condition_model_path is empty: set it to an exported "
                                "condition estimator; serving model_path for every condition")
                report("condition_model_path", self.problem)
            return
        try:
            from rain_seg_ros.condition import ConditionEstimator  # heavy: backends

            self.estimator = ConditionEstimator(path, backend=params["backend"], device=params["device"],
                                                engine_cache_dir=params["engine_cache_dir"] or None,
                                                trust_pt2=params["trust_pt2_model"])
        except Exception as err:  # missing, foreign or broken: say it once, serve the default model
            self.problem = (f"condition_model_path {path!r} cannot be loaded ({_first_line(err)}): serving "
                            f"model_path for every condition; point it to an exported condition "
                            f"estimator (.onnx with its .json sidecar)")
            report("condition_model_path", self.problem)

    @property
    def enabled(self) -> bool:
        return self.estimator is not None or bool(self.problem)

    @property
    def active(self) -> str:
        return self.switcher.active

    def segmenter(self, default: Any) -> Any:
        """The segmenter serving now (`default` is the model_path one)."""
        return self.models.get(self.switcher.active, default) if self.switcher.active != DEFAULT else default

    def step(self, images: list[np.ndarray]) -> tuple[Switch | None, float]:
        """Estimate the condition of this batch (every Nth) and update the switch.

        All frames of a batch share one estimate (probabilities averaged over the cameras): the
        weather is the vehicle's, and one model serves the whole batch. Returns the switch made
        by this batch, if any, and the milliseconds spent.
        """
        if self.estimator is None:
            return None, 0.0
        self._batches += 1
        if (self._batches - 1) % self.every_n:
            return None, 0.0
        t0 = time.monotonic()
        estimates = self.estimator.estimate_batch(images)
        self.last_estimate = _mean_estimate(estimates)
        switch = self.switcher.update(self.last_estimate.condition)
        return switch, (time.monotonic() - t0) * 1000

    def route(self, images: list[np.ndarray], stats: Any, logger: Any,
              on_switch: Callable[[], None]) -> float | None:
        """step(), with the node's reporting: the ms spent (None: no estimator). A switch is logged,
        counted (model_switches) and calls `on_switch`; an estimator failure is counted
        (condition_error) and the active model keeps serving."""
        if self.estimator is None:
            return None
        try:
            switch, ms = self.step(images)
        except Exception as err:  # a failed estimate must not cost the frame its segmentation
            stats.count("condition_error", error=repr(err))
            logger.error(f"condition estimate failed: {err!r}", throttle_duration_sec=5.0)
            return None
        if switch is not None:
            on_switch()
            stats.count("model_switches")
            logger.info(f"condition {switch.condition} held {self.switcher.hold_frames} estimates: "
                        f"model {switch.old} -> {switch.new}")
        return ms

    def figures(self) -> dict[str, str]:
        """Values for the node's /diagnostics status."""
        if not self.enabled:
            return {}
        return {"active_model": self.switcher.active, "model_switches": str(self.switcher.switches),
                "condition": self.last_estimate.condition if self.last_estimate is not None else ""}

    def message(self, header: Any, name: str) -> DiagnosticArray:
        """`~/condition`: the frame's header and one status with the estimate and the active model."""
        est, active = self.last_estimate, self.switcher.active
        values = {"active_model": active, "model_switches": str(self.switcher.switches),
                  "hold_frames": str(self.switcher.hold_frames)}
        if est is not None:
            values.update({"condition": est.condition, "p_rain": f"{est.p_rain:.4f}",
                           "p_night": f"{est.p_night:.4f}", "intensity": f"{est.intensity:.4f}"})
            values.update({f"prob_{k}": f"{v:.4f}" for k, v in est.probabilities.items()})
        if self.problem:
            level, text = DiagnosticStatus.ERROR, self.problem
        elif est is None:
            level, text = DiagnosticStatus.WARN, "no estimate yet"
        else:
            level, text = DiagnosticStatus.OK, f"{est.condition}: model {active}"
        status = DiagnosticStatus(level=level, name=name, hardware_id="condition", message=text,
                                  values=[KeyValue(key=k, value=v) for k, v in values.items()])
        return DiagnosticArray(header=header, status=[status])

    def close(self) -> None:
        for runner in [self.estimator, *self.models.values()]:
            if runner is not None:
                runner.close()


def _mean_estimate(estimates: list[Any]) -> Any:
    if len(estimates) == 1:
        return estimates[0]
    from rain_seg_ros.condition import ConditionEstimate

    probs = {k: float(np.mean([e.probabilities[k] for e in estimates])) for k in estimates[0].probabilities}
    return ConditionEstimate(probs, float(np.mean([e.p_rain for e in estimates])),
                             float(np.mean([e.p_night for e in estimates])),
                             float(np.mean([e.intensity for e in estimates])))
