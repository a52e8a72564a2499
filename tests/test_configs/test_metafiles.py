"""The repository's model index: every metafile imported, every config listed, every figure
sourced, every CPU-tier config built by the zoo, the official releases in the shared format.

That every listed config builds is checked by test_configs_build.py, which builds every
config of ``configs/`` and every config the index lists.
"""
import fnmatch
import importlib.util
import os.path as osp
from collections import Counter

import pytest
from mmengine.config import Config

from mmreidparts.zoo import (
    MODEL_INDEX,
    entry_kind,
    index_problems,
    load_index,
    load_official_releases,
    release_problems,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INDEX = load_index(MODEL_INDEX)
TIER = sorted(n for n, e in INDEX.items()
              if fnmatch.fnmatch(osp.basename(e['Config']), '*_mobilenetv2os8_*_cpu.py'))
RELEASE_DATASETS = {'market1501': 'five_v', 'dukemtmcreid': 'five_v',
                    'occluded_duke': 'eight', 'p_dukemtmc': 'eight'}


def _tool(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_model_index_is_complete_and_well_formed():
    assert index_problems(MODEL_INDEX) == []
    assert {'baseline', 'bpbreid'} <= {osp.basename(osp.dirname(e['_metafile']))
                                       for e in INDEX.values()}


def test_pending_official_releases_have_the_shared_format():
    releases = load_official_releases()
    assert releases, 'configs/official_releases.yml lists the converters still to write'
    for release in releases:
        assert release_problems(release) == []
        assert release['Converted From']['Converter'] is None
    names = Counter(r['Name'] for r in releases)
    assert max(names.values()) == 1
    assert not set(names) & set(INDEX), 'a release moved into a metafile is listed twice'
    collections = Counter(r['In Collection'] for r in releases)
    # the part-aligned bilinear Market-1501 release has its converter and entry; Duke is pending
    assert collections['PAL'] >= 2 and collections['PartBilinear'] == 1


@pytest.mark.parametrize('name', TIER)
def test_every_tier_config_is_built_with_the_tier_recipe(name):
    entry = INDEX[name]
    assert entry_kind(entry) == 'ours'
    build = entry['Build']
    assert build['Train Options'] == ['--amp']  # the tier trains with bfloat16 autocast
    dataset = 'synthetic' if name.endswith('_synthetic_cpu') else 'cuhk03detected'
    bot = INDEX[f'bot_mobilenetv2os8_1xb64_{dataset}_cpu']['Build']
    assert (build['Dataset'], build['Evaluate']) == (bot['Dataset'], bot['Evaluate'])
    expected = ['all', 'occluded'] if dataset == 'synthetic' else \
        ['all', 'partial top 0.7', 'partial top 0.5']
    assert build['Evaluate'] == expected
    assert (build.get('Data') == 'synthetic') == (dataset == 'synthetic')
    cfg = Config.fromfile(entry['Config'])
    if cfg.train_dataloader.dataset.get('part_labels') and dataset == 'cuhk03detected':
        # generated labels live outside the read-only data: their folder is a build option
        assert build['Train Cfg Options'] == {
            'train_dataloader.dataset.part_labels.label_dir': '${MMREIDPARTS_CUHK03_LABELS}'}


def test_the_official_bpbreid_checkpoints_have_entries_that_load_them():
    converter = _tool('tools/model_converters/bpbreid_to_mmreidparts.py', 'bpbreid_conv')
    official = {n: e for n, e in INDEX.items()
                if entry_kind(e) == 'official' and n.startswith('bpbreid_')}
    assert sorted(official) == sorted(f'bpbreid_hrnet32_1xb64_{d}_release'
                                      for d in RELEASE_DATASETS)
    for dataset, preprocess in RELEASE_DATASETS.items():
        entry = official[f'bpbreid_hrnet32_1xb64_{dataset}_release']
        source = entry['Converted From']
        assert source['File'].startswith(f'bpbreid_{dataset}_hrnet32_')
        assert source['Weights'].startswith('https://drive.google.com/')
        assert source['Converter'].startswith(
            'python tools/model_converters/bpbreid_to_mmreidparts.py {src} {dst}')
        head = Config.fromfile(entry['Config']).model.head
        # the config reproduces the release's test behaviour and reads its part order
        assert {k: head[k] for k in converter.RELEASE_HEAD_OPTIONS} == \
            converter.RELEASE_HEAD_OPTIONS
        assert head.part_scheme == converter.PREPROCESS_TO_SCHEME[preprocess]
        paper = INDEX[f'bpbreid_hrnet32_1xb64_{dataset}']
        assert entry['Results'][0]['Metrics'] == paper['Results'][0]['Metrics']
        assert entry['Results'][0]['Source'].startswith('paper')
