"""Fixtures of the tools' integration tests."""
import os.path as osp
import sys

import pytest


@pytest.fixture(scope='session')
def tiny_synthetic(tmp_path_factory) -> str:
    """A synthetic set of 8 train and 8 test identities at 64x32 (Market layout)."""
    from mmreidparts.synthetic import generate_synthetic_dataset
    root = str(tmp_path_factory.mktemp('tiny_synthetic'))
    generate_synthetic_dataset(root, num_train_ids=8, num_test_ids=8, images_per_id=(4, 6),
                               img_size=(64, 32), seed=0)
    return root



# tiny models, checkpoints and person images of the deployment tests
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data'))
from deploy_fixtures import bot_checkpoint, bpbreid_checkpoint, person_dir  # noqa: E402,F401
