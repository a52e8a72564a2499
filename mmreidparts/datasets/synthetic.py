"""Synthetic pedestrians rendered by :mod:`mmreidparts.synthetic`."""
from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class SyntheticPedestrians(BaseReIDDataset):
    """Synthetic pedestrians in Market-1501's layout, with exact part labels.

    The generator of :mod:`mmreidparts.synthetic` writes ``bounding_box_train/``,
    ``query/``, ``bounding_box_test/`` with Market-format names and the label maps under
    ``masks/<scheme>/<split dir>/``. The counts depend on the generator's arguments, so
    none are checked.
    """

    DATASET_NAME = 'synthetic'
    EVAL_PROTOCOL = 'market'
    EXPECTED_COUNTS = None
