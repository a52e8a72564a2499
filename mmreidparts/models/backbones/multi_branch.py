"""A shared trunk and several branches, each with its own copy of the later stages (MGN)."""
import copy
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

from mmengine.model import BaseModule
from mmpretrain.models.backbones import MobileNetV2, ResNet
from torch import Tensor, nn

from mmreidparts.registry import MODELS


def _stage_names(backbone: nn.Module) -> List[str]:
    """The stage modules of a ResNet (``layer1..4``) or MobileNetV2 (``layer1..7, conv2``)."""
    if isinstance(backbone, ResNet):
        return list(backbone.res_layers)
    if isinstance(backbone, MobileNetV2):
        return list(backbone.layers)
    raise TypeError(f'MultiBranchBackbone supports ResNet and MobileNetV2 backbones '
                    f'(ResNetReID, MobileNetV2ReID, ...), got {type(backbone).__name__}')


@MODELS.register_module()
class MultiBranchBackbone(BaseModule):
    """Run a backbone up to a block, then ``num_branches`` copies of the rest of it.

    The backbone (``trunk``) keeps its stem, its stages before ``split[0]`` and the first
    ``split[1]`` blocks of stage ``split[0]``; each branch (``branches.<b>``) holds the
    other blocks of that stage and every later stage, under their original names (so a
    branch key reads ``branches.0.layer3.1.conv1.weight`` where the backbone's was
    ``layer3.1.conv1.weight``). ``init_weights`` initialises the backbone as a whole
    (e.g. its ImageNet ``pretrained`` weights) and copies the weights of branch 0 into the
    others, so all branches start from the same weights. The strides are the backbone's:
    ``ResNetReID(last_stride=1)`` gives every branch a stride-1 conv5 (MGN in part
    awareness learning).

    Args:
        backbone: config of a ResNet (``ResNetReID``) or MobileNetV2 (``MobileNetV2ReID``).
        split: ``(stage, block)``: the first block of the branches. MGN on ResNet-50:
            ``('layer3', 1)`` (shared up to conv4_1); on MobileNetV2: ``('layer4', 1)``
            (shared up to the first block of the stride-16 stage).
        num_branches: number of branches (3 for MGN).
        init_cfg: must be None (the backbone's own ``init_cfg`` / ``pretrained`` is used).

    Returns of ``forward``: a tuple with the final map of each branch.
    """

    def __init__(self,
                 backbone: dict,
                 split: Sequence = ('layer3', 1),
                 num_branches: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        if init_cfg is not None:
            raise ValueError('MultiBranchBackbone: set the init_cfg (or pretrained) of the '
                             'inner backbone, not of the wrapper')
        super().__init__()
        if num_branches < 1:
            raise ValueError(f'MultiBranchBackbone needs num_branches >= 1, got {num_branches}')
        trunk = backbone if isinstance(backbone, nn.Module) else MODELS.build(backbone)
        if getattr(trunk, 'frozen_stages', -1) >= 0 or getattr(trunk, 'norm_eval', False):
            raise ValueError('MultiBranchBackbone does not support frozen_stages or norm_eval '
                             'in the backbone')
        stages = _stage_names(trunk)
        stage, block = str(split[0]), int(split[1])
        if stage not in stages:
            raise ValueError(f'MultiBranchBackbone split stage {stage!r} is not one of the '
                             f'backbone stages {stages}')
        blocks = getattr(trunk, stage)
        if not isinstance(blocks, nn.Sequential) or not 0 <= block < len(blocks):
            size = len(blocks) if isinstance(blocks, nn.Sequential) else 1
            raise ValueError(f'MultiBranchBackbone split block {block} must be in [0, {size}) '
                             f'for stage {stage!r}')
        pos = stages.index(stage)
        self.split = (stage, block)
        self.num_branches = num_branches
        self.trunk_stages: Tuple[str, ...] = tuple(stages[:pos + 1])
        self.branch_stages: Tuple[str, ...] = tuple(stages[pos:])
        trunk_part = nn.Sequential(OrderedDict(
            (name, m) for name, m in blocks.named_children() if int(name) < block))
        branch = nn.ModuleDict()
        branch[stage] = nn.Sequential(OrderedDict(
            (name, m) for name, m in blocks.named_children() if int(name) >= block))
        for name in stages[pos + 1:]:
            branch[name] = getattr(trunk, name)
            delattr(trunk, name)
        setattr(trunk, stage, trunk_part)
        self.trunk = trunk
        self.branches = nn.ModuleList(
            [branch] + [copy.deepcopy(branch) for _ in range(num_branches - 1)])

    def _assemble(self, branch: nn.ModuleDict) -> None:
        """Put ``branch``'s stages back into the trunk: the whole backbone again."""
        stage = self.split[0]
        trunk_part = getattr(self.trunk, stage)
        self.__dict__['_trunk_part'] = trunk_part  # kept aside, not registered twice
        blocks = list(trunk_part.named_children()) + list(branch[stage].named_children())
        setattr(self.trunk, stage, nn.Sequential(OrderedDict(blocks)))
        for name in self.branch_stages[1:]:
            setattr(self.trunk, name, branch[name])

    def _disassemble(self) -> None:
        """Take the branch stages out of the trunk again."""
        setattr(self.trunk, self.split[0], self.__dict__.pop('_trunk_part'))
        for name in self.branch_stages[1:]:
            delattr(self.trunk, name)

    def init_weights(self) -> None:
        """Initialise the whole backbone (trunk + branch 0), then copy branch 0 to the others."""
        self._assemble(self.branches[0])
        try:
            self.trunk.init_weights()
        finally:
            self._disassemble()
        state = self.branches[0].state_dict()
        for branch in self.branches[1:]:
            branch.load_state_dict(state)
        self._is_init = True

    def _stem(self, x: Tensor) -> Tensor:
        """The backbone's stem."""
        trunk = self.trunk
        if isinstance(trunk, ResNet):
            if trunk.deep_stem:
                x = trunk.stem(x)
            else:
                x = trunk.relu(trunk.norm1(trunk.conv1(x)))
            return trunk.maxpool(x)
        return trunk.conv1(x)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The final map of every branch, ``num_branches x [N, C, H, W]``."""
        x = self._stem(x)
        for name in self.trunk_stages:
            x = getattr(self.trunk, name)(x)
        outs = []
        for branch in self.branches:
            y = x
            for name in self.branch_stages:
                y = branch[name](y)
            outs.append(y)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'MultiBranchBackbone':
        """Set the training mode of trunk and branches and return the module."""
        super().train(mode)
        return self
