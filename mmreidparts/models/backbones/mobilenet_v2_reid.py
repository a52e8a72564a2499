"""MobileNetV2 with a configurable last stride, loading torchvision or mmpretrain weights."""
from typing import List, Optional, Sequence, Union

from mmpretrain.models.backbones import MobileNetV2

from mmreidparts.registry import MODELS

from .reid_backbone_mixin import BackboneAdapterMixin


@MODELS.register_module()
class MobileNetV2ReID(BackboneAdapterMixin, MobileNetV2):
    """mmpretrain MobileNetV2 whose last stride-2 stage can run at stride 1.

    With ``last_stride=1`` the stride of ``layer6`` (the last stage with stride 2) becomes
    1, so the output stride is 16: a 256x128 image gives 16x8 maps of 1280 channels.

    Args:
        widen_factor: width multiplier.
        last_stride: stride of the last stride-2 stage (1 or 2).
        out_indices: outputs to return (0-6: layer1-7, 7: the final 1x1 conv).
        pretrained: path or URL of weights in mmpretrain layout (``conv1.*``,
            ``layer1.*`` ... ``conv2.*``, optionally under ``backbone.``) or torchvision
            layout (``features.0.0.weight`` ... ``features.18.1.*``), converted in memory.
        init_cfg: initialisation config (a ``Pretrained`` entry is read the same way).
        **kwargs: other arguments of mmpretrain's ``MobileNetV2``.
    """

    pretrained_arch = 'mobilenet_v2'

    def __init__(self,
                 widen_factor: float = 1.0,
                 last_stride: int = 1,
                 out_indices: Sequence[int] = (7, ),
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs) -> None:
        if last_stride not in (1, 2):
            raise ValueError(f'MobileNetV2ReID last_stride must be 1 or 2, got {last_stride}')
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('MobileNetV2ReID: give either pretrained or init_cfg, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is not None:
            kwargs['init_cfg'] = init_cfg
        super().__init__(widen_factor=widen_factor, out_indices=tuple(out_indices), **kwargs)
        self.last_stride = last_stride
        # the last stage whose first block downsamples: layer6 in the standard arch
        stage = max(i for i, (_, _, _, stride) in enumerate(self.arch_settings) if stride == 2)
        first_block = getattr(self, f'layer{stage + 1}')[0]
        depthwise = first_block.conv[-2].conv  # expand -> depthwise -> linear
        depthwise.stride = (last_stride, last_stride)
        first_block.stride = last_stride
