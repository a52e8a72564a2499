"""Market-1501 (Zheng et al., ICCV 2015)."""
from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class Market1501(BaseReIDDataset):
    """Market-1501: 1501 identities seen by 6 cameras, names ``PPPP_cCsS_FFFFFF_BB.jpg``.

    Expected counts after dropping the junk images (pid -1): train 12936 images of 751
    ids, query 3368 of 750 ids, gallery 15913 of 751 ids. ``bounding_box_test`` holds
    19732 images, of which 3819 are junk (pid -1, dropped: 19732 - 3819 = 15913, the
    gallery size the literature reports). The kept gallery holds the 750 test identities
    and the distractors (pid 0, false detections; papers report 2,793 or 2,798 of them),
    counted as one more identity: 750 + 1 = 751 ids. Cameras 1..6 give camid 0..5.
    """

    DATASET_NAME = 'market1501'
    EVAL_PROTOCOL = 'market'
    EXPECTED_COUNTS = dict(train=(12936, 751), query=(3368, 750), gallery=(15913, 751))
    NAME_PATTERN = r'^(?P<pid>-?\d+)_c(?P<cam>\d)s\d+_\d+_\d+$'
    NAME_FORMAT = 'PPPP_cCsS_FFFFFF_BB.jpg (e.g. 0002_c1s1_000451_03.jpg)'
