"""Normalising and stacking ReID images; the data samples pass through unchanged."""
from typing import Optional, Sequence, Union

import torch
from mmengine.model import ImgDataPreprocessor

from mmreidparts.registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """Cast, channel-flip, normalise and stack the images of a ReID batch.

    ``inputs`` are ``3 x H x W`` uint8 BGR tensors (from ``PackReIDInputs``) or an
    ``N x 3 x H x W`` tensor; the output is a float ``[N, 3, H, W]`` batch.

    Args:
        mean: per-channel mean in the 0-255 scale, in the order after ``to_rgb``
            (ImageNet's RGB mean by default); None disables normalisation.
        std: per-channel standard deviation in the 0-255 scale.
        to_rgb: convert BGR images to RGB before normalising.
        pad_size_divisor: pad the batch to a multiple of this size.
        pad_value: the value of padded pixels.
        allow_padding: whether images of different sizes may be padded into one batch.
            ReID batches should come out of the pipeline at one size, so by default a
            size mismatch is an error (it usually means a missing ``Resize``).
        non_blocking: copy to the device without blocking.
    """

    def __init__(self,
                 mean: Optional[Sequence[Union[float, int]]] = IMAGENET_MEAN,
                 std: Optional[Sequence[Union[float, int]]] = IMAGENET_STD,
                 to_rgb: bool = True,
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 allow_padding: bool = False,
                 non_blocking: Optional[bool] = False) -> None:
        if (mean is None) != (std is None):
            raise ValueError('ReIDDataPreprocessor: set both mean and std, or neither')
        if mean is not None and (len(mean) not in (1, 3) or len(std) != len(mean)):
            raise ValueError('ReIDDataPreprocessor: mean and std need 1 or 3 values each, got '
                             f'{list(mean)} and {list(std)}')
        super().__init__(mean=mean, std=std, pad_size_divisor=pad_size_divisor,
                         pad_value=pad_value, bgr_to_rgb=to_rgb, non_blocking=non_blocking)
        self.to_rgb = to_rgb
        self.allow_padding = allow_padding

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``dict(inputs=[N, 3, H, W] float, data_samples=list or None)``."""
        if not isinstance(data, dict) or 'inputs' not in data:
            raise TypeError('ReIDDataPreprocessor expects a dict with "inputs" (and '
                            f'"data_samples"), got {type(data).__name__}')
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                raise ValueError('ReIDDataPreprocessor got an empty batch')
            shapes = {tuple(img.shape) for img in inputs}
            if any(len(s) != 3 for s in shapes):
                raise ValueError(f'ReIDDataPreprocessor expects 3 x H x W images, got {shapes}')
            if len(shapes) > 1 and not self.allow_padding:
                raise ValueError(
                    'ReIDDataPreprocessor: the images of a batch differ in size '
                    f'{sorted(shapes)}; add a Resize to the pipeline or set allow_padding=True')
        elif not isinstance(inputs, torch.Tensor):
            raise TypeError('ReIDDataPreprocessor: "inputs" must be a list of 3 x H x W tensors '
                            f'or an N x 3 x H x W tensor, got {type(inputs).__name__}')
        return super().forward(data, training)
