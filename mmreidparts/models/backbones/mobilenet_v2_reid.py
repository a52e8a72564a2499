"""MobileNetV2 with a configurable last stride, loading torchvision or mmpretrain weights."""
from typing import List, Optional, Sequence, Union

from mmpretrain.models.backbones import MobileNetV2

from mmreidparts.registry import MODELS

from .reid_backbone_mixin import BackboneAdapterMixin


@MODELS.register_module()
class MobileNetV2ReID(BackboneAdapterMixin, MobileNetV2):
    """mmpretrain MobileNetV2 whose last stride-2 stages can run at stride 1.

    With ``last_stride=1`` the stride of ``layer6`` (the last stage with stride 2) becomes
    1, so the output stride is 16: a 256x128 image gives 16x8 maps of 1280 channels.
    ``output_stride=8`` also runs ``layer4`` at stride 1 (no dilation), for part maps of
    useful size on small inputs: a 128x64 image gives 16x8 maps.

    Args:
        widen_factor: width multiplier.
        last_stride: stride of the last stride-2 stage (1 or 2).
        output_stride: 8, 16 or 32; when given it decides the strides instead of
            ``last_stride`` (16 is ``last_stride=1``, 32 is ``last_stride=2``).
        out_indices: outputs to return (0-6: layer1-7, 7: the final 1x1 conv).
        drop_unused_layers: remove the layers after the last output (a truncated trunk,
            e.g. ``out_indices=(4, )`` keeps conv1 and layer1-5); a checkpoint of the whole
            network still loads, the keys of the removed layers are ignored.
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
                 output_stride: Optional[int] = None,
                 out_indices: Sequence[int] = (7, ),
                 drop_unused_layers: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs) -> None:
        if last_stride not in (1, 2):
            raise ValueError(f'MobileNetV2ReID last_stride must be 1 or 2, got {last_stride}')
        if output_stride is None:
            output_stride = 16 if last_stride == 1 else 32
        if output_stride not in (8, 16, 32):
            raise ValueError(f'MobileNetV2ReID output_stride must be 8, 16 or 32, '
                             f'got {output_stride}')
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('MobileNetV2ReID: give either pretrained or init_cfg, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is not None:
            kwargs['init_cfg'] = init_cfg
        super().__init__(widen_factor=widen_factor, out_indices=tuple(out_indices), **kwargs)
        self.output_stride = output_stride
        self.last_stride = 1 if output_stride < 32 else 2
        # stages whose first block downsamples, last first: layer6, layer4, ...
        strided = [i for i, (_, _, _, stride) in enumerate(self.arch_settings) if stride == 2]
        for stage in strided[::-1][:{32: 0, 16: 1, 8: 2}[output_stride]]:
            first_block = getattr(self, f'layer{stage + 1}')[0]
            depthwise = first_block.conv[-2].conv  # expand -> depthwise -> linear
            depthwise.stride = (1, 1)
            first_block.stride = 1
        self.dropped_layer_prefixes: tuple = ()
        if drop_unused_layers:
            keep = max(self.out_indices) + 1
            dropped = self.layers[keep:]
            for name in dropped:
                delattr(self, name)
            self.layers = self.layers[:keep]
            self.dropped_layer_prefixes = tuple(f'{name}.' for name in dropped)
