"""Fixtures: tiny models and synthetic person images (tests/data/deploy_fixtures.py)."""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data'))
from deploy_fixtures import bot_checkpoint, bpbreid_checkpoint, person_dir  # noqa: E402,F401
