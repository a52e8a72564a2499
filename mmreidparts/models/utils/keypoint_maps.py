"""Keypoint heat-maps on a feature grid, from keypoints in input pixels."""
from typing import Tuple

import torch
from torch import Tensor


def keypoint_heatmaps(keypoints: Tensor, size: Tuple[int, int], input_size: Tuple[int, int],
                      sigma: float = 1.0) -> Tensor:
    """Gaussian heat-maps ``[N, J, h, w]`` of keypoints ``[N, J, 3]`` (x, y, v in pixels).

    Cell ``(i, j)`` of the ``h x w`` grid covering an ``H x W`` input has its centre at
    ``((j + 0.5) W / w, (i + 0.5) H / h)``; keypoint ``k`` gives
    ``exp(-(dx^2 / (2 sx^2) + dy^2 / (2 sy^2)))`` with ``sigma`` in cells (``sx = sigma W / w``,
    ``sy = sigma H / h``), so a keypoint on a cell centre is 1 there and ``exp(-1/2)`` one
    cell away. Missing keypoints (``v <= 0``) give an all-zero map.
    """
    if keypoints.dim() != 3 or keypoints.shape[2] != 3:
        raise ValueError(f'keypoint_heatmaps expects keypoints [N, J, 3], got '
                         f'{tuple(keypoints.shape)}')
    h, w = int(size[0]), int(size[1])
    big_h, big_w = float(input_size[0]), float(input_size[1])
    kps = keypoints.float()
    ys = (torch.arange(h, device=kps.device, dtype=torch.float32) + 0.5) * big_h / h  # [h]
    xs = (torch.arange(w, device=kps.device, dtype=torch.float32) + 0.5) * big_w / w  # [w]
    sy, sx = sigma * big_h / h, sigma * big_w / w
    dy = (ys[None, None, :] - kps[..., 1:2]) ** 2 / (2 * sy ** 2)  # [N, J, h]
    dx = (xs[None, None, :] - kps[..., 0:1]) ** 2 / (2 * sx ** 2)  # [N, J, w]
    maps = torch.exp(-(dy[..., :, None] + dx[..., None, :]))  # [N, J, h, w]
    return maps * (kps[..., 2] > 0).float()[..., None, None]
