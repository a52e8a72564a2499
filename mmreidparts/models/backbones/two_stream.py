"""Two networks on the same image: an appearance stream and a part stream.

The part-aligned bilinear model (Suh et al., ECCV 2018) reads what things look like from
one network (``A``, e.g. GoogLeNet on ImageNet) and which body part is where from another
(``P``, initialised from a pose estimator), and pools their product. Each stream gets its
own copy of the image normalised as its weights expect (:class:`InputNorm`), and the part
map is brought to the appearance grid (the release's 2x2 max-pool of the stride-8 pose
map for the stride-16 GoogLeNet). The output is the tuple ``(A, P)``.
"""
from typing import List, Optional, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from ..utils.input_norm import InputNorm

PART_ALIGNS = ('none', 'max2x2', 'match')


def _build(cfg: Union[dict, nn.Module]) -> nn.Module:
    """A stream from its config (an ``nn.Module`` is used as is)."""
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class TwoStreamBackbone(BaseModule):
    """Appearance and part streams on one image; returns ``(A [N, cA, h, w], P [N, cP, h, w])``.

    Args:
        appearance: config of the appearance network (``GoogLeNetBVLC``, ``ResNetReID``,
            ``MobileNetV2ReID``, ...); the map ``appearance_index`` of its output is used.
        part: config of the part network (``OpenPoseTrunk``, a truncated ``MobileNetV2ReID``,
            ...); the map ``part_index`` of its output is used.
        appearance_norm: :class:`InputNorm` preset of the appearance stream ('none' when the
            data preprocessor already normalises for it).
        part_norm: :class:`InputNorm` preset of the part stream.
        part_align: how the part map reaches the appearance grid: 'none' (they must match),
            'max2x2' (a 2x2/2 max-pool, ceil mode: the release's non-dilated model) or
            'match' (adaptive max-pool to the appearance map's size).
        freeze_part: keep the part stream fixed ("fixed P_pose" ablation): no gradient,
            and its normalisation layers stay in eval mode.
        init_cfg: mmengine initialisation config; each stream loads its own weights.
    """

    def __init__(self,
                 appearance: Union[dict, nn.Module],
                 part: Union[dict, nn.Module],
                 appearance_norm: Union[str, dict] = 'none',
                 part_norm: Union[str, dict] = 'none',
                 part_align: str = 'none',
                 appearance_index: int = -1,
                 part_index: int = -1,
                 freeze_part: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if part_align not in PART_ALIGNS:
            raise ValueError(f'TwoStreamBackbone part_align must be one of {PART_ALIGNS}, '
                             f'got {part_align!r}')
        self.appearance = _build(appearance)
        self.part = _build(part)
        self.appearance_norm = InputNorm(appearance_norm)
        self.part_norm = InputNorm(part_norm)
        self.part_align = part_align
        self.appearance_index = appearance_index
        self.part_index = part_index
        self.freeze_part = freeze_part
        if freeze_part:
            for param in self.part.parameters():
                param.requires_grad_(False)

    def train(self, mode: bool = True) -> 'TwoStreamBackbone':
        """Set the training mode; a frozen part stream stays in eval mode."""
        super().train(mode)
        if self.freeze_part:
            self.part.eval()
        return self

    @staticmethod
    def _pick(out: Union[Tensor, Tuple[Tensor, ...]], index: int) -> Tensor:
        """One map of a backbone's output."""
        return out if isinstance(out, Tensor) else out[index]

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """``(A, P)`` on the same grid, from images ``[N, 3, H, W]``."""
        app = self._pick(self.appearance(self.appearance_norm(x)), self.appearance_index)
        part = self._pick(self.part(self.part_norm(x)), self.part_index)
        if self.part_align == 'max2x2':
            part = F.max_pool2d(part, 2, 2, ceil_mode=True)
        elif self.part_align == 'match' and part.shape[2:] != app.shape[2:]:
            part = F.adaptive_max_pool2d(part, app.shape[2:])
        if part.shape[2:] != app.shape[2:]:
            raise ValueError(f'TwoStreamBackbone: the appearance map {tuple(app.shape)} and the '
                             f'part map {tuple(part.shape)} are on different grids; set '
                             "part_align='max2x2' or 'match', or change the streams' strides")
        return app, part
