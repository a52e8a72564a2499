"""Training in stages within one run: head switches and the train loader change at epochs."""
import copy
from typing import Any, Dict, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmreidparts.registry import HOOKS

STAGE_KEYS = ('epoch', 'head', 'train_dataloader')


@HOOKS.register_module()
class StageSwitchHook(Hook):
    """Start training stages at given epochs: set head attributes, swap the train loader.

    A stage ``dict(epoch=E, head=dict(attr=value, ...), train_dataloader=dict(...))``
    starts at epoch ``E`` (0-based, as ``runner.epoch``): its ``head`` attributes are set
    on the model's head (e.g. ``enable_triplet=True`` for VPM's second stage) and its
    ``train_dataloader`` entries replace those of the config's train dataloader (e.g.
    another ``sampler`` and ``batch_size``), which is then rebuilt. Before the first stage
    the head keeps its constructed values and the config's loader is used. Everything is
    decided from the epoch at the start of each epoch, so a run resumed in a later stage
    trains as the uninterrupted run would.

    Args:
        stages: the stages, in increasing order of ``epoch``.
    """

    priority = 'ABOVE_NORMAL'  # before the sampler-seed hook sees the new loader

    def __init__(self, stages: Sequence[dict]) -> None:
        if not stages:
            raise ValueError('StageSwitchHook needs at least one stage')
        checked: List[dict] = []
        for i, stage in enumerate(stages):
            if not isinstance(stage, dict) or 'epoch' not in stage:
                raise ValueError(f'StageSwitchHook: stage {i} must be a dict with an "epoch" '
                                 f'and "head" and/or "train_dataloader", got {stage!r}')
            unknown = set(stage) - set(STAGE_KEYS)
            if unknown:
                raise KeyError(f'StageSwitchHook: stage {i} has unknown keys {sorted(unknown)}'
                               f'; expected some of {STAGE_KEYS}')
            epoch = stage['epoch']
            if not isinstance(epoch, int) or epoch < 0:
                raise ValueError(f'StageSwitchHook: stage {i} epoch must be an int >= 0, '
                                 f'got {epoch!r}')
            if checked and epoch <= checked[-1]['epoch']:
                raise ValueError('StageSwitchHook: the stages must start at increasing '
                                 f'epochs, got {[s["epoch"] for s in stages]}')
            checked.append(dict(epoch=epoch, head=dict(stage.get('head') or {}),
                                train_dataloader=stage.get('train_dataloader')))
        self.stages = checked
        self._initial: Optional[Dict[str, Any]] = None
        self._stage = -1  # index of the stage in force, -1 before the first
        self._loader_stage = -1  # stage whose loader is in use

    @staticmethod
    def _head(runner) -> Any:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'head'):
            raise AttributeError(f'StageSwitchHook: the model {type(model).__name__} has no '
                                 'head')
        return model.head

    def before_train(self, runner) -> None:
        """Check the head has every attribute the stages set; remember their first values."""
        head = self._head(runner)
        self._initial = {}
        for stage in self.stages:
            for name in stage['head']:
                if not hasattr(head, name):
                    raise AttributeError(f'StageSwitchHook: the head {type(head).__name__} has '
                                         f'no attribute {name!r} (stage at epoch '
                                         f'{stage["epoch"]})')
                self._initial.setdefault(name, copy.deepcopy(getattr(head, name)))

    def stage_at(self, epoch: int) -> int:
        """Index of the stage in force at ``epoch`` (-1 before the first)."""
        index = -1
        for i, stage in enumerate(self.stages):
            if stage['epoch'] <= epoch:
                index = i
        return index

    def before_train_epoch(self, runner) -> None:
        """Apply the stage of this epoch when it differs from the one in force."""
        if self._initial is None:
            self.before_train(runner)
        index = self.stage_at(runner.epoch)
        if index == self._stage:
            return
        head = self._head(runner)
        values = dict(self._initial)
        loader_stage = -1
        for i in range(index + 1):
            values.update(self.stages[i]['head'])
            if self.stages[i]['train_dataloader'] is not None:
                loader_stage = i
        for name, value in values.items():
            setattr(head, name, copy.deepcopy(value))
        if loader_stage != self._loader_stage:
            self._swap_loader(runner, loader_stage)
        self._stage = index
        print_log(f'StageSwitchHook: epoch {runner.epoch}: stage {index + 2} of '
                  f'{len(self.stages) + 1}, head {values}', logger='current')

    def _swap_loader(self, runner, loader_stage: int) -> None:
        """Rebuild the train loader with the entries of stage ``loader_stage``."""
        cfg = copy.deepcopy(runner.cfg.train_dataloader)
        if loader_stage >= 0:
            for key, value in self.stages[loader_stage]['train_dataloader'].items():
                cfg[key] = copy.deepcopy(value)
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        loop = runner.train_loop
        loop.dataloader = runner.build_dataloader(
            cfg, seed=runner.seed, diff_rank_seed=randomness.get('diff_rank_seed', False))
        # what is left of the run, at the new loader's length (for logging and ETA)
        loop._max_iters = loop.iter + (loop.max_epochs - runner.epoch) * len(loop.dataloader)
        self._loader_stage = loader_stage
        print_log(f'StageSwitchHook: train loader rebuilt ({len(loop.dataloader)} iterations '
                  'per epoch)', logger='current')
