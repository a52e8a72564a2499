"""Building a model from a config and extracting embeddings from images."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

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
    of the config (``init_cfg``) is skipped when a checkpoint is given.
    """
    register_all_modules()
    if isinstance(config, str):
        cfg = read_config(config, cfg_options)
    else:
        cfg = apply_options(copy.deepcopy(config), cfg_options)
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


def _test_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The config's test pipeline; the loading step is skipped for in-memory images."""
    loader = cfg.get('test_dataloader', None) or cfg.get('val_dataloader')
    steps = copy.deepcopy(loader['dataset']['pipeline'])
    if from_array:
        steps = [s for s in steps if not str(s['type']).startswith('Load')]
    return Compose(steps)


@torch.no_grad()
def inference_model(model: nn.Module,
                    images: Sequence[ImageType],
                    batch_size: int = 32) -> List[ReIDDataSample]:
    """Embeddings and visibility of each image (paths, or H x W x 3 uint8 BGR arrays).

    Returns one :class:`ReIDDataSample` per image with ``embeddings [P, D]``,
    ``visibility [P]`` and ``metainfo['embedding_names']``.
    """
    if isinstance(images, (str, np.ndarray)):
        images = [images]
    cfg = model.cfg
    results: List[ReIDDataSample] = []
    pipe_path, pipe_array = None, None
    for start in range(0, len(images), batch_size):
        batch = []
        for item in images[start:start + batch_size]:
            if isinstance(item, np.ndarray):
                pipe_array = pipe_array or _test_pipeline(cfg, from_array=True)
                h, w = item.shape[:2]
                data = dict(img=item, img_path='', img_shape=(h, w), ori_shape=(h, w), pid=-1,
                            camid=-1, gt_label=-1, is_query=False, part_map_path=None,
                            part_scheme=None)
                batch.append(pipe_array(data))
            else:
                pipe_path = pipe_path or _test_pipeline(cfg, from_array=False)
                batch.append(
                    pipe_path(
                        dict(img_path=item, pid=-1, camid=-1, gt_label=-1, is_query=False,
                             part_map_path=None, part_scheme=None)))
        results.extend(model.test_step(pseudo_collate(batch)))
    return results
