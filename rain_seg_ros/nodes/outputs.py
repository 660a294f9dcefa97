"""Publishing one camera's result on the outputs someone subscribes (segmentation_node)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from sensor_msgs.msg import Image

from rain_seg_ros.codec import array_to_image_fields, fill_image_msg, rgb_to_image_fields
from rain_seg_ros.nodes.cameras import Camera


def publish_outputs(cam: Camera, header: Any, rgb: np.ndarray, mask: np.ndarray,
                    confidence: np.ndarray | None, colorize: Callable[[np.ndarray], np.ndarray],
                    overlay_alpha: float) -> None:
    """mask (H, W) uint8 ids and confidence (H, W) uint8, both at camera resolution; `colorize`
    is the serving model's palette (models of different conditions may differ)."""
    pubs = cam.pubs
    if "mask" in pubs:
        pubs["mask"].publish(fill_image_msg(Image(), array_to_image_fields(mask, "mono8"), header))
    colours = None
    if cam.wanted("color_mask") or cam.wanted("overlay"):
        colours = colorize(mask)  # (H, W, 3)
    if colours is not None and cam.wanted("color_mask"):
        pubs["color_mask"].publish(fill_image_msg(Image(), rgb_to_image_fields(colours), header))
    if colours is not None and cam.wanted("overlay"):
        overlay = cv2.addWeighted(rgb, 1.0 - overlay_alpha, colours, overlay_alpha, 0.0)
        overlay[mask == 255] = rgb[mask == 255]  # ignore pixels stay untinted
        pubs["overlay"].publish(fill_image_msg(Image(), rgb_to_image_fields(overlay), header))
    if confidence is not None and cam.wanted("confidence"):
        fields = array_to_image_fields(confidence, "mono8")
        pubs["confidence"].publish(fill_image_msg(Image(), fields, header))
