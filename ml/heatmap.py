"""Class-activation map (CAM) of a SliceNet for one slice, for display in the viewer.

SliceNet's head is linear on globally averaged features, so the plain CAM of Zhou et al.
(2016) is exact: ``logit_c = b_c + mean_hw(sum_k w_ck * F_k)``. No gradients are needed.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ml.model import SliceNet


@torch.no_grad()
def class_activation_map(
    model: SliceNet, x: np.ndarray | torch.Tensor, class_index: int
) -> np.ndarray:
    """Heatmap (H, W) in 0..1 of where the slice supports ``class_index``.

    ``x`` is one model input shaped (H, W), (1, H, W) or (1, 1, H, W). A map that is nowhere
    positive (the class has no support anywhere) is returned as all zeros.
    """
    t = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if t.ndim < 2:
        raise ValueError(f"expected an image, got shape {tuple(t.shape)}")
    h, w = t.shape[-2:]
    if t.numel() != h * w:
        raise ValueError(f"expected one single-channel image, got shape {tuple(t.shape)}")
    if not 0 <= class_index < model.config.n_classes:
        raise ValueError(f"class_index {class_index} out of range 0..{model.config.n_classes - 1}")
    model.eval()
    _, fmap = model.forward_with_features(t.reshape(1, 1, h, w))  # (1, K, h', w')
    weights = model.head.weight[class_index]  # (K,)
    cam = torch.einsum("k,bkhw->bhw", weights, fmap).unsqueeze(1)  # (1, 1, h', w')
    cam = F.relu(cam)  # only evidence for the class, not against it
    cam = F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)[0, 0]  # (H, W)
    peak = float(cam.max())
    if peak <= 0.0:
        return np.zeros((h, w), dtype=np.float32)
    return (cam / peak).clamp(0.0, 1.0).numpy().astype(np.float32)
