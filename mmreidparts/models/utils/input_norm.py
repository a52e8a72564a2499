"""Per-network input normalisation, for models whose parts expect different inputs.

A two-stream model feeds one image to networks trained with different conventions (BVLC
GoogLeNet: BGR 0-255 minus the Caffe mean; OpenPose: BGR / 256 - 0.5; torchvision and
mmpretrain: RGB minus the ImageNet mean over the ImageNet std). The data preprocessor then
passes the raw ``BGR 0-255`` float batch (``mean=None, std=None, to_rgb=False``) and each
network normalises its own copy with an :class:`InputNorm`.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from torch import Tensor, nn

CAFFE_MEAN_BGR = (104.0, 117.0, 123.0)
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)

# preset -> (flip BGR to RGB, mean [3] in the output channel order, scale):
# out = (x - mean) * scale
PRESETS: Dict[str, tuple] = {
    'none': (False, None, None),
    # BVLC GoogLeNet (Caffe): BGR 0-255 minus the mean pixel
    'bvlc': (False, CAFFE_MEAN_BGR, 1.0),
    # OpenPose (CMU Caffe models): BGR / 256 - 0.5
    'openpose': (False, (128.0, 128.0, 128.0), 1.0 / 256),
    # the part-aligned bilinear release's pose input: the BVLC-normalised image x 0.0039
    'release_pose': (False, CAFFE_MEAN_BGR, 0.0039),
    # torchvision / mmpretrain ImageNet weights: RGB, mean and std per channel
    'imagenet': (True, IMAGENET_MEAN_RGB, tuple(1.0 / s for s in IMAGENET_STD_RGB)),
}


class InputNorm(nn.Module):
    """Normalise a raw ``[N, 3, H, W]`` BGR 0-255 batch as a network expects it.

    Args:
        preset: a name of :data:`PRESETS` ('none', 'bvlc', 'openpose', 'release_pose',
            'imagenet') or a dict ``(mean=[3], std=[3], to_rgb=bool)`` in the 0-255 scale,
            mean and std in the order after the optional channel flip.
    """

    def __init__(self, preset: Union[str, dict, None] = 'none') -> None:
        super().__init__()
        if preset is None:
            preset = 'none'
        if isinstance(preset, str):
            if preset not in PRESETS:
                raise ValueError(f'InputNorm: unknown preset {preset!r}; choose one of '
                                 f'{sorted(PRESETS)} or give dict(mean=, std=, to_rgb=)')
            to_rgb, mean, scale = PRESETS[preset]
            self.name = preset
        elif isinstance(preset, dict):
            unknown = set(preset) - {'mean', 'std', 'to_rgb'}
            if unknown or 'mean' not in preset or 'std' not in preset:
                raise ValueError(f'InputNorm: a custom normalisation is dict(mean=[3], '
                                 f'std=[3], to_rgb=bool), got {preset!r}')
            to_rgb, mean = bool(preset.get('to_rgb', False)), tuple(preset['mean'])
            scale = tuple(1.0 / float(s) for s in preset['std'])
            self.name = 'custom'
        else:
            raise TypeError(f'InputNorm preset must be a str or a dict, got {preset!r}')
        self.to_rgb = to_rgb
        self.identity = mean is None
        self.register_buffer('mean', self._vector(mean, 0.0), persistent=False)
        self.register_buffer('scale', self._vector(scale, 1.0), persistent=False)

    @staticmethod
    def _vector(values: Optional[Union[float, Sequence[float]]], default: float) -> Tensor:
        """A ``[1, 3, 1, 1]`` tensor of one or three values."""
        if values is None:
            values = default
        values = [float(values)] * 3 if isinstance(values, (int, float)) else list(values)
        if len(values) != 3:
            raise ValueError(f'InputNorm needs 3 channel values, got {values}')
        return torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        """The normalised batch ``[N, 3, H, W]``."""
        if self.identity:
            return x
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'InputNorm expects [N, 3, H, W] images, got {tuple(x.shape)}')
        if self.to_rgb:
            x = x.flip(1)
        return (x - self.mean.to(x.dtype)) * self.scale.to(x.dtype)

    def extra_repr(self) -> str:
        """Short description for printing."""
        return f'preset={self.name!r}'
