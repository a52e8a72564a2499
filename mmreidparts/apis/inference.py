"""Building a model from a config and extracting embeddings from images."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch.nn as nn
from mmengine.config import Config

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils import load_reid_checkpoint, register_all_modules, strip_pretrained
from mmreidparts.utils.config import apply_options, read_config

ImageType = Union[str, np.ndarray]


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[Dict] = None) -> nn.Module:
    """Build the model of ``config`` in eval mode and load ``checkpoint`` safely.

    The checkpoint must match the model (same backbone, K, number of training ids):
    otherwise a RuntimeError lists the mismatching tensors. Pretrained initialisation
    of the config (``init_cfg``) is skipped when a checkpoint is given. An exported
    ``.onnx`` file gives an :class:`ONNXReIDModel` (onnxruntime) with the same API.
    """
    register_all_modules()
    if isinstance(config, str):
        cfg = read_config(config, cfg_options)
    else:
        cfg = apply_options(copy.deepcopy(config), cfg_options)
    if checkpoint is not None and str(checkpoint).endswith('.onnx'):
        model = MODELS.build(dict(type='ONNXReIDModel', onnx_file=checkpoint, device=device))
        model.cfg = cfg
        return model.eval()
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    if checkpoint is not None:  # the checkpoint holds every weight: read no pretrained file
        model_cfg = strip_pretrained(model_cfg)
    model = MODELS.build(model_cfg)
    if checkpoint is None:
        model.init_weights()
    else:
        meta = load_reid_checkpoint(model, checkpoint,
                                    ignore_prefixes=tuple(cfg.get('test_ignore_prefixes', ())))
        model.dataset_meta = meta.get('dataset_meta', None)
    model.cfg = cfg
    return model.to(device).eval()


# steps that read a dataset's annotations: images outside a dataset have none
LABEL_STEPS = ('LoadPartLabel', 'LoadPifPafLabel', 'LoadKeypoints')


def test_pipeline_cfg(cfg: Config, from_array: bool = False) -> List[dict]:
    """The steps of the config's test pipeline; without the loading step for arrays.

    Label-loading steps (``LABEL_STEPS``, e.g. a val pipeline that loads part labels for
    ``PartParsingMetric``) are left out: an image outside a dataset has no labels.
    """
    loader = cfg.get('test_dataloader', None) or cfg.get('val_dataloader', None)
    steps = (loader or {}).get('dataset', {}).get('pipeline') or cfg.get('test_pipeline')
    if not steps:
        raise KeyError('the config has neither test_dataloader.dataset.pipeline nor '
                       'test_pipeline: the inference needs the test pipeline')
    steps = [s for s in copy.deepcopy(list(steps))
             if str(s['type']).split('.')[-1] not in LABEL_STEPS]
    if from_array:
        steps = [s for s in steps if not str(s['type']).split('.')[-1].startswith('Load')]
    return steps


def inference_model(model: nn.Module,
                    images: Union[ImageType, Sequence[ImageType]],
                    batch_size: int = 32) -> List[ReIDDataSample]:
    """Embeddings and visibility of each image (paths, or H x W x 3 uint8 BGR arrays).

    Returns one :class:`ReIDDataSample` per image with ``embeddings [P, D]``,
    ``visibility [P]`` and ``metainfo['embedding_names']`` (see :class:`ReIDInferencer`).
    """
    from .inferencer import ReIDInferencer
    param = next(iter(model.parameters()), None)
    device = str(param.device) if param is not None else 'cpu'
    inferencer = ReIDInferencer(model, device=device, show_progress=False)
    return inferencer(images, return_datasamples=True, batch_size=batch_size)
