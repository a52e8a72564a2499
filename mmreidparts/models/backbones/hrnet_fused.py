"""HRNet with the classification network's channel-increase layers, fused at stride 4.

The four branch outputs of mmpretrain's HRNet (C, 2C, 4C, 8C channels at strides 4, 8, 16,
32) go through the "increase" bottleneck layers of the HRNet classifier (to 128, 256, 512
and 1024 channels), are upsampled bilinearly (align_corners=True) to the stride-4 branch
and concatenated: one ``[N, 1920, H/4, W/4]`` map, as in BPBreID's HRNet-W32 backbone.

The increase layers have the names and shapes of mmpretrain's ``HRFuseScales``
(``increase_layers.{i}.0.*``), so the OpenMMLab ImageNet HRNet classification checkpoint
initialises both parts: its ``backbone.*`` keys the HRNet and its
``neck.0.increase_layers.*`` keys the increase layers (the neck's downsample and final
layers and the classifier are not used).
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple, Union

from mmpretrain.models.backbones.hrnet import HRNet
from mmpretrain.models.backbones.resnet import Bottleneck, ResLayer
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from ..utils import (
    check_state_dict_matches,
    extract_state_dict,
    load_checkpoint_file,
    pretrained_source,
)
from ..utils.multi_scale import resize_concat

INCREASE_CHANNELS = (128, 256, 512, 1024)
NECK_PREFIX = 'neck.0.increase_layers.'


def split_hrnet_classifier_state(state: Dict[str, Tensor],
                                 source: str = 'checkpoint') -> 'OrderedDict[str, Tensor]':
    """Take the HRNet and increase-layer weights out of an mmpretrain HRNet classifier's state.

    ``backbone.X`` becomes ``X`` and ``neck.0.increase_layers.X`` becomes
    ``increase_layers.X``; every other key (neck downsample/final layers, head) is dropped.
    A state dict that already has :class:`HRNetFused`'s own key names is returned as is.
    """
    keys = list(state)
    if not any(k.startswith(('backbone.', NECK_PREFIX)) for k in keys):
        if any(k.startswith('increase_layers.') for k in keys):
            return OrderedDict(state)
        raise KeyError(f'{source}: neither "backbone.*" / "{NECK_PREFIX}*" keys of an '
                       'mmpretrain HRNet classifier nor HRNetFused key names found')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[key[len('backbone.'):]] = value
        elif key.startswith(NECK_PREFIX):
            out['increase_layers.' + key[len(NECK_PREFIX):]] = value
    return out


@MODELS.register_module()
class HRNetFused(HRNet):
    """HRNet whose four branches are widened, upsampled to stride 4 and concatenated.

    Args:
        arch: mmpretrain HRNet preset ('w18', 'w32', ...); 'w32' for BPBreID.
        increase_channels: output channels of the increase layer of each branch.
        align_corners: ``align_corners`` of the bilinear upsampling.
        fuse: True (BPBreID): one fused map; False (DROP): the four widened branches
            ``(S1, S2, S3, S4)`` (128/256/512/1024 channels at strides 4/8/16/32 for
            'w32'), which a multi-scale head fuses itself (:func:`resize_concat`).
        init_cfg: mmengine init config; ``dict(type='Pretrained', checkpoint=...)`` loads
            an mmpretrain HRNet classification checkpoint (file or URL) into the HRNet and
            the increase layers, with every key checked.
        **kwargs: other arguments of mmpretrain's ``HRNet``.
    """

    def __init__(self,
                 arch: str = 'w32',
                 increase_channels: Sequence[int] = INCREASE_CHANNELS,
                 align_corners: bool = True,
                 fuse: bool = True,
                 init_cfg: Optional[Union[dict, list]] = None,
                 **kwargs) -> None:
        if kwargs.get('multiscale_output') is False:
            raise ValueError('HRNetFused needs all four branches: multiscale_output=False '
                             'is not supported')
        if init_cfg is not None:
            kwargs['init_cfg'] = init_cfg
        super().__init__(arch=arch, **kwargs)
        branch_channels = [c * (4 if self.extra['stage4']['block'] == 'BOTTLENECK' else 1)
                           for c in self.extra['stage4']['num_channels']]
        if len(increase_channels) != len(branch_channels):
            raise ValueError(f'HRNetFused: increase_channels needs {len(branch_channels)} '
                             f'values (one per branch), got {tuple(increase_channels)}')
        self.increase_layers = nn.ModuleList(
            ResLayer(Bottleneck, num_blocks=1, in_channels=c_in, out_channels=c_out,
                     norm_cfg=self.norm_cfg)
            for c_in, c_out in zip(branch_channels, increase_channels))
        self.align_corners = align_corners
        self.fuse = fuse
        self.out_channels = (int(sum(increase_channels)) if fuse
                             else tuple(int(c) for c in increase_channels))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Map images ``[N, 3, H, W]`` to the fused map ``[N, sum(increase), H/4, W/4]``.

        With ``fuse=False``: the widened branches ``S_i [N, increase_i, H/2^(i+1),
        W/2^(i+1)]``, i = 1..4.
        """
        branches = super().forward(x)  # 4 x [N, C_i, H/2^(i+1), W/2^(i+1)]
        outs = [layer(b) for b, layer in zip(branches, self.increase_layers)]
        if not self.fuse:
            return tuple(outs)
        # [N, 1920, H/4, W/4] for the default channels
        return (resize_concat(outs, align_corners=self.align_corners), )

    def init_weights(self) -> None:
        """Initialise as mmpretrain's HRNet, or load the ``Pretrained`` classifier checkpoint."""
        cfg = pretrained_source(self.init_cfg)
        if cfg is None:
            super().init_weights()
            return
        source = str(cfg['checkpoint'])
        state = extract_state_dict(load_checkpoint_file(source), source, prefix='')
        state = split_hrnet_classifier_state(state, source)
        check_state_dict_matches(self, state, source)
        self.load_state_dict(state, strict=False)
        self._is_init = True
