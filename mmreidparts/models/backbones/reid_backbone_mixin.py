"""Behaviour shared by the backbone adapters: safe pretrained loading, chainable train()."""
from typing import Optional

from mmengine.model.weight_init import update_init_info
from torch import nn

from mmreidparts.models.utils import load_backbone_weights, pretrained_source


class BackboneAdapterMixin:
    """``init_weights`` that reads a ``Pretrained`` init_cfg with the safe loader.

    The checkpoint (local path or URL) is read with ``weights_only=True``; mmpretrain and
    torchvision layouts are accepted (``pretrained_arch`` names the torchvision network),
    and every weight of the backbone must be found in it. ``train()`` returns the module,
    as ``nn.Module.train`` does (mmpretrain's backbones return None).
    """

    pretrained_arch: Optional[str] = None

    def init_weights(self) -> None:
        """Load the ``Pretrained`` checkpoint of ``init_cfg``, or run the default init."""
        cfg = pretrained_source(getattr(self, 'init_cfg', None))
        if cfg is None:
            super().init_weights()
            return
        load_backbone_weights(self, cfg['checkpoint'], arch=self.pretrained_arch,
                              prefix=cfg.get('prefix'))
        if hasattr(self, '_params_init_info'):  # set when a parent model runs init_weights
            update_init_info(self, init_info=f'loaded from {cfg["checkpoint"]}')
        self._is_init = True
        if getattr(self, 'frozen_stages', -1) >= 0 and hasattr(self, '_freeze_stages'):
            self._freeze_stages()

    def train(self, mode: bool = True) -> nn.Module:
        """Set the training mode (keeping frozen stages frozen) and return the module."""
        super().train(mode)
        return self
