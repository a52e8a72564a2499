"""ResNet with a configurable last stride (BoT's "last stride = 1")."""
from typing import List, Optional, Sequence, Union

from mmpretrain.models.backbones import ResNet

from mmreidparts.registry import MODELS

from .reid_backbone_mixin import BackboneAdapterMixin


@MODELS.register_module()
class ResNetReID(BackboneAdapterMixin, ResNet):
    """mmpretrain ResNet whose last stage has stride ``last_stride``.

    With ``last_stride=1`` the output stride is 16: a 256x128 image gives 16x8 maps
    (2048 channels for ResNet-50, 512 for ResNet-18).

    Args:
        depth: 18, 34, 50, 101 or 152.
        last_stride: stride of the last stage (1 or 2).
        out_indices: stages whose outputs are returned.
        strides: strides of the stages; the last one is replaced by ``last_stride``.
        pretrained: shortcut for ``init_cfg=dict(type='Pretrained', checkpoint=...)``;
            a path or URL in mmpretrain or torchvision layout.
        init_cfg: initialisation config.
        **kwargs: other arguments of mmpretrain's ``ResNet``.
    """

    pretrained_arch = 'resnet'

    def __init__(self,
                 depth: int = 50,
                 last_stride: int = 1,
                 out_indices: Sequence[int] = (3, ),
                 strides: Sequence[int] = (1, 2, 2, 2),
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs) -> None:
        if last_stride not in (1, 2):
            raise ValueError(f'ResNetReID last_stride must be 1 or 2, got {last_stride}')
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('ResNetReID: give either pretrained or init_cfg, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        strides = tuple(strides)[:-1] + (last_stride, )
        if init_cfg is not None:
            kwargs['init_cfg'] = init_cfg
        super().__init__(depth=depth, strides=strides, out_indices=tuple(out_indices),
                         **kwargs)
        self.last_stride = last_stride
