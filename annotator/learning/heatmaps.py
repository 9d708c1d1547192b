"""The served model's heatmaps, as the viewer lays them over a slice (no torch here)."""

import zlib

import numpy as np

from annotator.learning.models import Heatmap
from annotator.learning.registry import promoted
from annotator.png import png_bytes

# The overlay's colour; the map's value becomes its opacity (up to MAX_ALPHA).
RED = (255, 40, 0)
MAX_ALPHA = 170


def served(instance_id: int) -> Heatmap | None:
    model = promoted()
    if model is None:
        return None
    return Heatmap.objects.filter(model=model, instance_id=instance_id).first()


def png(heatmap: Heatmap) -> bytes:
    values = np.frombuffer(zlib.decompress(bytes(heatmap.data)), dtype=np.uint8)
    values = values.reshape(heatmap.height, heatmap.width)
    rgba = np.zeros((heatmap.height, heatmap.width, 4), dtype=np.uint8)
    rgba[..., :3] = RED
    rgba[..., 3] = (values.astype(np.uint16) * MAX_ALPHA // 255).astype(np.uint8)
    return png_bytes(rgba)
