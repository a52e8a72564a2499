"""Using a trained model through the tools: test.py dumps and .onnx, export, verification,
feature files ranked without the model, the query demo and its cache, the ONNX benchmark."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
from _tool_utils import ROOT, TINY_CFG, data_root_options, run_tool
from deploy_fixtures import assert_embeddings_close

from mmreidparts.apis import ReIDInferencer
from mmreidparts.structures.features import load_features

pytestmark = pytest.mark.slow
TINY_BPBREID = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bpbreid.py')
METRICS = ('rank1', 'rank5', 'mAP', 'mINP')


def _json(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


@pytest.fixture(scope='module')
def pth_test(tiny_synthetic, bpbreid_checkpoint, tmp_path_factory):
    """tools/test.py on the tiny BPBreID checkpoint, with the metrics and the dump."""
    tmp = tmp_path_factory.mktemp('pth_test')
    out, dump = str(tmp / 'metrics.json'), str(tmp / 'test_feats.pt')
    run_tool(['tools/test.py', TINY_BPBREID, bpbreid_checkpoint, '--work-dir', str(tmp),
              '--out', out, '--dump', dump, '--cfg-options'] + data_root_options(tiny_synthetic))
    return _json(out), dump


def test_inferencer_gives_the_embeddings_of_test_py(pth_test, bpbreid_checkpoint):
    _, dump = pth_test
    feats = load_features(dump)
    assert feats['embeddings'].shape[1:] == (9, 16) and feats['is_query'].any()
    assert feats['meta']['eval_protocol'] == 'market'
    out = ReIDInferencer(TINY_BPBREID, bpbreid_checkpoint, show_progress=False)(
        feats['img_paths'], batch_size=16)
    assert_embeddings_close(np.stack([r['embeddings'] for r in out]), feats['embeddings'])
    np.testing.assert_array_equal(np.stack([r['visibility'] for r in out]),
                                  feats['visibility'].numpy())


def test_rank_features_reproduces_test_py(pth_test, tmp_path):
    metrics, dump = pth_test
    out = str(tmp_path / 'ranked.json')
    run_tool(['tools/analysis_tools/rank_features.py', dump, '--out', out, '--ranking',
              str(tmp_path / 'ranking.json'), '--topk', '3'])
    ranked = _json(out)
    for key in METRICS:
        assert ranked[f'reid/{key}'] == pytest.approx(metrics[f'reid/{key}'], abs=1e-6), key
    ranking = _json(str(tmp_path / 'ranking.json'))
    assert len(ranking[0]['ranked']) == 3


def test_extracted_folders_rank_like_test_py(pth_test, tiny_synthetic, bpbreid_checkpoint,
                                             tmp_path):
    metrics, _ = pth_test
    files = []
    for split in ('query', 'bounding_box_test'):
        files.append(str(tmp_path / f'{split}.pt'))
        proc = run_tool(['tools/analysis_tools/extract_features.py', TINY_BPBREID,
                         bpbreid_checkpoint, '--folder', osp.join(tiny_synthetic, split),
                         '--out', files[-1]])
        assert '(0 skipped), 9 embeddings of 16' in proc.stdout
    out = str(tmp_path / 'two_files.json')
    run_tool(['tools/analysis_tools/rank_features.py', files[0], files[1], '--protocol',
              'market', '--out', out])
    for key in METRICS:  # the same images, ids read from their names, the same protocol
        assert _json(out)[f'reid/{key}'] == pytest.approx(metrics[f'reid/{key}'], abs=1e-4)


def test_onnx_export_verify_and_test_py(pth_test, tiny_synthetic, bpbreid_checkpoint,
                                        tmp_path):
    metrics, _ = pth_test
    onnx = str(tmp_path / 'tiny_bpbreid.onnx')
    proc = run_tool(['tools/deployment/pytorch2onnx.py', TINY_BPBREID, bpbreid_checkpoint,
                     '--out', onnx])
    assert 'flip True' in proc.stdout and 'max |diff| embeddings' in proc.stdout
    out = str(tmp_path / 'onnx_metrics.json')
    run_tool(['tools/test.py', TINY_BPBREID, onnx, '--work-dir', str(tmp_path / 'w'), '--out',
              out, '--cfg-options'] + data_root_options(tiny_synthetic))
    for key in METRICS:
        assert _json(out)[f'reid/{key}'] == pytest.approx(metrics[f'reid/{key}'], abs=0.1)
    report = str(tmp_path / 'verify.json')
    proc = run_tool(['tools/deployment/verify_onnx.py', TINY_BPBREID, bpbreid_checkpoint,
                     '--onnx', onnx, '--out', report, '--cfg-options'] +
                    data_root_options(tiny_synthetic))
    assert '[verify] PASS' in proc.stdout
    figures = _json(report)
    assert figures['ok'] and figures['max_diff_embeddings'] < 1e-4
    assert figures['pytorch_mAP'] == pytest.approx(metrics['reid/mAP'], abs=1e-4)
    # a tolerance below the float32 noise fails, with exit status 1
    failed = run_tool(['tools/deployment/verify_onnx.py', TINY_BPBREID, bpbreid_checkpoint,
                       '--onnx', onnx, '--tol', '0', '--cfg-options'] +
                      data_root_options(tiny_synthetic), check=False)
    assert failed.returncode == 1 and '[verify] FAIL' in failed.stdout


def test_query_demo_caches_the_gallery_and_skips_corrupt_images(person_dir, bot_checkpoint,
                                                                tmp_path):
    gallery = str(tmp_path / 'gallery')
    shutil.copytree(person_dir, gallery)
    bad = osp.join(gallery, '0005_c1s1_000000_00.jpg')
    with open(bad, 'wb') as f:
        f.write(b'garbage')
    query = osp.join(gallery, '0001_c1s1_000000_00.png')
    args = ['demo/reid_demo.py', query, '--gallery', gallery, '--model', TINY_CFG,
            '--weights', bot_checkpoint, '--topk', '3', '--out-dir', str(tmp_path / 'out'),
            '--cache-dir', str(tmp_path / 'cache')]
    first = run_tool(args)
    assert '(embedded)' in first.stdout and f'skipped gallery image {bad}' in first.stderr
    second = run_tool(args)
    assert '(cached)' in second.stdout and f'skipped gallery image {bad}' in second.stderr
    result = _json(str(tmp_path / 'out' / 'ranked.json'))
    assert result['gallery_size'] == 6 and result['skipped'][0][0] == bad
    row = result['queries'][0]
    assert row['pid'] == 1 and len(row['ranked']) == 3
    assert osp.isfile(str(tmp_path / 'out' / 'ranked.png'))


def test_benchmark_onnx_prints_both_runtimes():
    proc = run_tool(['tools/analysis_tools/benchmark_onnx.py', TINY_CFG, '--batch-sizes', '1',
                     '2', '--iters', '1', '--warmup', '0', '--threads', '1'])
    lines = [ln for ln in proc.stdout.splitlines() if 'img/s' in ln]
    assert len(lines) == 2 and all('ratio' in ln for ln in lines)
