"""Registries of mmreidparts: children of mmengine's roots, scope ``mmreidparts``.

A name that is not found here is looked up in the parent (root) registry, so
components registered by mmcv (transforms) and mmengine (hooks, optimizers,
schedulers) are available under ``default_scope='mmreidparts'``. Components of
mmpretrain or mmseg are referenced with their scope prefix, e.g.
``type='mmpretrain.ResNet'``.
"""
import inspect

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry as MMEngineRegistry

from mmreidparts.utils.config import report_unknown_arguments

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS',
    'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS'
]



class Registry(MMEngineRegistry):
    """mmengine's Registry whose classes name the closest argument for an unknown keyword.

    A class registered here raises :class:`mmreidparts.utils.errors.UnknownArgumentError`
    (a ``TypeError``) for a config key it does not accept, e.g. ``num_part`` for
    ``num_parts``, whichever registry builds it (see
    :func:`mmreidparts.utils.config.report_unknown_arguments`).
    """

    def _register_module(self, module, module_name=None, force: bool = False) -> None:
        """Register ``module`` and make its constructor report unknown arguments."""
        super()._register_module(module, module_name, force)
        if inspect.isclass(module):
            report_unknown_arguments(module)


RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['mmreidparts.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['mmreidparts.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['mmreidparts.engine'])
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=['mmreidparts.engine'])
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['mmreidparts.engine'])
OPTIM_WRAPPERS = Registry(
    'optimizer_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['mmreidparts.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmreidparts.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['mmreidparts.engine'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['mmreidparts.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['mmreidparts.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['mmreidparts.datasets'])

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['mmreidparts.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['mmreidparts.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=['mmreidparts.models'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=['mmreidparts.models'])

METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['mmreidparts.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['mmreidparts.evaluation'])

VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['mmreidparts.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=['mmreidparts.visualization'])
