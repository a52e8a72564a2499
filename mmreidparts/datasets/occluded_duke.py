"""Occluded-DukeMTMC (Miao et al., ICCV 2019), a re-split of DukeMTMC-reID."""
from mmreidparts.registry import DATASETS

from .dukemtmcreid import DukeMTMCreID


@DATASETS.register_module()
class OccludedDuke(DukeMTMCreID):
    """Occluded-Duke: DukeMTMC-reID images re-split so that every query is occluded.

    Same layout and names as DukeMTMC-reID. Expected counts: train 15618 images of 702
    ids, query 2210 of 519 ids, gallery 17661 of 1110 ids.
    """

    DATASET_NAME = 'occluded_duke'
    EVAL_PROTOCOL = 'market'
    EXPECTED_COUNTS = dict(train=(15618, 702), query=(2210, 519), gallery=(17661, 1110))
