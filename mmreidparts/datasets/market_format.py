"""Custom data laid out like Market-1501."""
from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class MarketFormatDataset(BaseReIDDataset):
    """Any data in Market-1501's layout, with names starting ``<pid>_c<camera>``.

    ``bounding_box_train/``, ``query/``, ``bounding_box_test/``; pid -1 = junk (dropped),
    pid 0 = distractor. No expected counts are checked.
    """

    DATASET_NAME = 'market_format'
    EVAL_PROTOCOL = 'market'
    EXPECTED_COUNTS = None
