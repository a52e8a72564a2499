"""DukeMTMC-reID (Zheng et al., ICCV 2017)."""
from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class DukeMTMCreID(BaseReIDDataset):
    """DukeMTMC-reID: 8 cameras, names ``PPPP_cC_fFFFFFFF.jpg``; no junk images.

    Expected counts: train 16522 images of 702 ids, query 2228 of 702 ids, gallery 17661
    of 1110 ids (the 702 test ids plus 408 distractor ids). Cameras 1..8 give camid 0..7.
    """

    DATASET_NAME = 'dukemtmcreid'
    EVAL_PROTOCOL = 'market'
    EXPECTED_COUNTS = dict(train=(16522, 702), query=(2228, 702), gallery=(17661, 1110))
    NAME_PATTERN = r'^(?P<pid>\d+)_c(?P<cam>\d+)_f\d+$'
    NAME_FORMAT = 'PPPP_cC_fFFFFFFF.jpg (e.g. 0001_c2_f0046182.jpg)'
