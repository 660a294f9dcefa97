"""Per-camera state of segmentation_node: which topic, which outputs, which counters.

With `camera_topics` empty the node serves today's single camera: input `image` (or
`image/compressed`), outputs `~/mask` ..., and its counters are the node's own. With a list,
camera k subscribes `camera_topics[k]` (+ `/compressed`) and publishes `~/<name>/mask` ...,
where the name comes from `camera_names[k]` or, by default, from the topic
(`/front/image_raw` -> `front`, `/cam/left/image_rect` -> `cam_left`). Each camera keeps its
own NodeStats (drops, latency); the node's NodeStats also counts every camera's events, so
the node-level diagnostics stay a total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rain_seg_ros.diagnostics import NodeStats

# Trailing topic words that name the stream, not the camera.
IMAGE_WORDS = ("compressed", "image", "image_raw", "image_color", "image_rect", "image_rect_color",
               "image_mono")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass
class Camera:
    """One input stream. `name` is "" for the single default camera (outputs straight under ~/)."""

    key: int
    name: str
    topic: str
    stats: NodeStats
    node_stats: NodeStats
    pubs: dict[str, Any] = field(default_factory=dict)

    def output_topic(self, output: str) -> str:
        return f"~/{self.name}/{output}" if self.name else f"~/{output}"

    def _all(self) -> tuple[NodeStats, ...]:
        return (self.stats,) if self.stats is self.node_stats else (self.stats, self.node_stats)

    def count(self, counter: str, error: str | None = None) -> None:
        for stats in self._all():
            stats.count(counter, error=error)

    def frame_received(self) -> None:
        for stats in self._all():
            stats.frame_received()

    def frame_published(self, latency_ms: float, stages_ms: dict[str, float]) -> None:
        for stats in self._all():
            stats.frame_published(latency_ms, stages_ms)

    def wanted(self, output: str) -> bool:
        """Someone subscribes this camera's `output` (optional outputs are computed only then)."""
        pub = self.pubs.get(output)
        return pub is not None and pub.get_subscription_count() > 0


def name_from_topic(topic: str) -> str:
    """A ROS name token for a camera topic: its words minus trailing image words, joined by "_"."""
    words = [w for w in topic.split("/") if w]
    while len(words) > 1 and words[-1] in IMAGE_WORDS:
        words.pop()
    name = re.sub(r"[^A-Za-z0-9_]", "_", "_".join(words)).strip("_") or "camera"
    return name if name[0].isalpha() else f"camera_{name}"


def plan_cameras(topics: list[str], names: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(topic, name) per camera, and the problems found in the parameters (each one line).

    Duplicate topics are served once. `names` must be empty or one valid, distinct name per
    topic; otherwise names are derived from the topics (made distinct with _2, _3 ...).
    """
    problems: list[str] = []
    unique = list(dict.fromkeys(t for t in topics if t.strip()))
    if len(unique) != len(topics):
        problems.append(f"camera_topics {topics} has duplicate or empty entries: each camera is served once")
    if names:
        positional = len(names) == len(topics) and len(unique) == len(topics)
        valid = all(_TOKEN.fullmatch(n) for n in names) and len(set(names)) == len(names)
        if positional and valid:
            return list(zip(unique, names)), problems
        problems.append(f"camera_names {names} must give one distinct name (letters, digits, _) per "
                        f"camera_topics entry; using names derived from the topics")
    planned: list[tuple[str, str]] = []
    taken: set[str] = set()
    for topic in unique:
        base = name = name_from_topic(topic)
        n = 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        planned.append((topic, name))
    return planned, problems
