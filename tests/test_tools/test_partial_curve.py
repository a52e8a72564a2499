"""partial_curve.py: cut queries in memory, curves of several models, visibility report."""
import json
import os
import os.path as osp
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _tool_utils import ROOT, TINY_CFG, cli_threads, data_root_options, run_tool

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
from partial_curve import (  # noqa: E402
    cut_pipeline,
    format_tables,
    load_results,
    parse_args,
    visibility_stats,
)

TINY_VPM = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_vpm.py')
TOOL = 'tools/analysis_tools/partial_curve.py'
PIPELINE = [dict(type='LoadReIDImage'), dict(type='ReIDResize', scale=(96, 32)),
            dict(type='PackReIDInputs')]


def _sample(vis, shape=(120, 40)):
    return SimpleNamespace(metainfo=dict(ori_shape=shape), visibility=torch.tensor(vis))


def test_the_cut_goes_right_after_the_loading():
    steps = cut_pipeline(PIPELINE, 0.6, 'bottom')
    assert [s['type'] for s in steps] == ['LoadReIDImage', 'PartialQueryCrop', 'ReIDResize',
                                          'PackReIDInputs']
    assert steps[1] == dict(type='PartialQueryCrop', ratio=0.6, side='bottom')
    assert cut_pipeline(steps, 0.5, 'top')[1]['ratio'] == 0.5  # replaced, not added twice
    with pytest.raises(ValueError, match='no LoadReIDImage'):
        cut_pipeline(PIPELINE[1:], 0.5, 'top')


def test_visibility_stats_by_hand():
    # top 0.75 of 6 stripes: kept fractions 1, 1, 1, 1, 0.5, 0
    exact = _sample([1, 1, 1, 1, 0.5, 0])
    stats = visibility_stats([exact], (6, 1), 0.75, 'top')
    assert stats['mae'] == pytest.approx(0) and stats['corr'] == pytest.approx(1)
    assert stats['pred_ratio'] == pytest.approx(0.75) and stats['true_ratio'] == 0.75
    flat = _sample([1.0] * 6)
    stats = visibility_stats([flat], (6, 1), 0.75, 'top')
    assert stats['mae'] == pytest.approx(1.5 / 6) and stats['corr'] is None
    # against the bottom cut's fractions 0, 0.5, 1, 1, 1, 1 (both means 0.75): deviations
    # (.25, .25, .25, .25, -.25, -.75) . (-.75, -.25, .25, .25, .25, .25) = -0.375, each
    # sum of squares 0.875, so r = -3/7; MAE = (1 + .5 + 0 + 0 + .5 + 1) / 6
    stats = visibility_stats([exact], (6, 1), 0.75, 'bottom')
    assert stats['corr'] == pytest.approx(-3 / 7)
    assert stats['mae'] == pytest.approx(0.5)


def test_bad_command_lines(capsys, tmp_path):
    cfg = str(tmp_path / 'c.py')
    ckpt = str(tmp_path / 'c.pth')
    for path in (cfg, ckpt):
        open(path, 'w').close()
    for ratio in ('0', '1.5', '-0.2'):
        with pytest.raises(SystemExit):
            parse_args(['--model', cfg, ckpt, '--ratios', '0.5', ratio])
        assert 'must be in (0, 1]' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(['--model', cfg, str(tmp_path / 'missing.pth')])
    assert 'checkpoint file not found' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(['--model', cfg, ckpt, '--label', 'a', '--label', 'b'])
    assert '2 --label for 1 --model' in capsys.readouterr().err
    args = parse_args(['--model', cfg, ckpt, '--ratios', '1.0', '0.5', '0.5'])
    assert args.ratios == [0.5, 1.0] and args.sides == ['top']


def _cells(text):
    """The stripped cells of every row of a text table."""
    return [[c.strip() for c in line.strip('|').split('|')] for line in text.splitlines()
            if line.startswith('|')]


def _curve_file(path, models):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(dict(ratios=[0.5, 1.0], sides=['top'], models=models), f)
    return str(path)


def test_earlier_results_join_the_table(capsys, tmp_path):
    rows = [dict(ratio=0.5, rank1=10.0, mAP=12.5), dict(ratio=1.0, rank1=30.0, mAP=33.25)]
    good = _curve_file(tmp_path / 'a.json', [dict(label='BoT', curves=dict(top=rows))])
    args = parse_args(['--add-results', good])  # no --model: redraw only
    assert args.model == [] and [m['label'] for m in args.earlier] == ['BoT']
    assert args.earlier[0]['visibility'] is None
    cells = _cells(format_tables(args.earlier, ['top']))
    assert cells == [['model', 'side', 'ratio', 'rank1', 'mAP'],  # only the rows' keys
                     ['BoT', 'top', '0.50', '10.00', '12.50'],
                     ['BoT', 'top', '1.00', '30.00', '33.25']]
    # rows with more ranks than others: missing entries are '-'
    more = dict(label='VPM', curves=dict(top=[dict(ratio=1.0, rank1=31.0, rank5=50.0,
                                                   mAP=34.0)]), visibility=None)
    cells = _cells(format_tables(args.earlier + [more], ['top']))
    assert cells[0] == ['model', 'side', 'ratio', 'rank1', 'rank5', 'mAP']
    assert cells[1] == ['BoT', 'top', '0.50', '10.00', '-', '12.50']
    assert cells[3] == ['VPM', 'top', '1.00', '31.00', '50.00', '34.00']
    # rows stored from 1.0 down are listed from the smallest ratio up, as computed ones are
    desc = dict(label='BoT', curves=dict(top=rows[::-1]))
    assert _cells(format_tables([desc], ['top']))[1:] == [['BoT', 'top', '0.50', '10.00', '12.50'],
                                                          ['BoT', 'top', '1.00', '30.00', '33.25']]

    with pytest.raises(SystemExit):
        parse_args([])
    assert 'give at least one --model' in capsys.readouterr().err
    with pytest.raises(ValueError, match='file not found'):
        load_results(str(tmp_path / 'missing.json'), ['top'])
    (tmp_path / 'bad.json').write_text('{"ratios": []}')
    with pytest.raises(ValueError, match='bad.json is not a partial_curve.json'):
        load_results(str(tmp_path / 'bad.json'), ['top'])
    with pytest.raises(ValueError, match=r"model 'BoT' .* no curve for side\(s\) \['bottom'\]"):
        load_results(good, ['top', 'bottom'])
    broken = _curve_file(tmp_path / 'c.json', [dict(label='X', curves=dict(
        top=[dict(ratio=0.5, rank1=1.0)]))])
    with pytest.raises(ValueError, match='needs "ratio", "rank1" and "mAP"'):
        load_results(broken, ['top'])
    with pytest.raises(SystemExit):
        parse_args(['--add-results', broken])
    assert "model 'X'" in capsys.readouterr().err


@pytest.fixture(scope='module')
def trained(tiny_synthetic, tmp_path_factory):
    """Checkpoints of the tiny VPM (two stages) and BoT models, and the VPM training log."""
    out = {}
    for name, cfg in (('vpm', TINY_VPM), ('bot', TINY_CFG)):
        work = str(tmp_path_factory.mktemp(name))
        proc = run_tool(['tools/train.py', cfg, '--work-dir', work, '--cfg-options'] +
                        data_root_options(tiny_synthetic))
        out[name] = osp.join(work, 'epoch_2.pth')
        out[f'{name}_log'] = proc.stdout + proc.stderr
    return out


@pytest.mark.slow
def test_vpm_trains_in_two_stages(trained):
    log = trained['vpm_log']
    assert 'StageSwitchHook: epoch 1: stage 2 of 2' in log
    lines = [line for line in log.splitlines() if 'Epoch(train)' in line]
    assert lines and all('loss_region' in line and 'loss_id' in line for line in lines)
    assert not any('loss_triplet' in line for line in lines if '[1][' in line)
    assert all('loss_triplet' in line for line in lines if '[2][' in line)


@pytest.mark.slow
def test_curves_of_two_methods_and_the_visibility_report(trained, tiny_synthetic, tmp_path):
    before = sorted(os.walk(tiny_synthetic))
    out_dir = str(tmp_path / 'curve')
    proc = run_tool([TOOL, '--model', TINY_VPM, trained['vpm'], '--label', 'VPM',
                     '--model', TINY_CFG, trained['bot'], '--label', 'BoT',
                     '--data-root', tiny_synthetic, '--ratios', '0.5', '0.75', '1.0',
                     '--sides', 'top', 'bottom', '--visibility-report',
                     '--out-dir', out_dir])
    assert 'BoT: no soft region visibility' in proc.stdout
    assert sorted(os.walk(tiny_synthetic)) == before  # no cut copies left behind
    with open(osp.join(out_dir, 'partial_curve.json'), encoding='utf-8') as f:
        res = json.load(f)
    assert res['ratios'] == [0.5, 0.75, 1.0] and res['sides'] == ['top', 'bottom']
    assert osp.getsize(osp.join(out_dir, 'partial_curve.png')) > 1000
    vpm, bot = res['models']
    assert (vpm['label'], bot['label']) == ('VPM', 'BoT')
    assert vpm['region_grid'] == [6, 1] and bot['region_grid'] is None
    for model in (vpm, bot):
        assert model['num_queries'] == 12
        for side in ('top', 'bottom'):
            rows = model['curves'][side]
            assert [r['ratio'] for r in rows] == [0.5, 0.75, 1.0]
            assert all(0 <= r['rank1'] <= 100 and 0 < r['mAP'] <= 100 for r in rows)
        # the uncut queries are the same for both sides
        assert model['curves']['top'][-1] == model['curves']['bottom'][-1]
    assert bot['visibility'] is None
    for side in ('top', 'bottom'):
        rows = vpm['visibility'][side]
        assert [r['true_ratio'] for r in rows] == pytest.approx([0.5, 0.75, 1.0])
        assert all(0 <= r['mae'] <= 1 and 0 < r['pred_ratio'] <= 1 for r in rows)

    # the uncut row is what tools/test.py measures (the same batches: the tiny model's
    # nearly tied distances come out bit for bit the same)
    metrics = str(tmp_path / 'test.json')
    run_tool(['tools/test.py', TINY_VPM, trained['vpm'], '--work-dir', str(tmp_path / 'test'),
              '--out', metrics, '--cfg-options'] + data_root_options(tiny_synthetic))
    with open(metrics, encoding='utf-8') as f:
        test = json.load(f)
    holistic = vpm['curves']['top'][-1]
    for key in ('rank1', 'rank5', 'mAP', 'mINP'):
        assert holistic[key] == pytest.approx(test[f'reid/{key}'], abs=1e-4), key
    # a cut query keeps its region ratio: the cut images differ from the uncut ones
    assert not np.allclose([r['mAP'] for r in vpm['curves']['top']],
                           vpm['curves']['top'][-1]['mAP'])

    # an earlier run joins a new one's table and plot without being evaluated again
    redraw = str(tmp_path / 'redraw')
    proc = run_tool([TOOL, '--add-results', osp.join(out_dir, 'partial_curve.json'),
                     '--sides', 'top', '--out-dir', redraw])
    curve_table, vis_table = proc.stdout.split('Predicted region visibility')
    assert [row[0] for row in _cells(curve_table)[1:]] == ['VPM'] * 3 + ['BoT'] * 3
    assert [row[0] for row in _cells(vis_table)[1:]] == ['VPM'] * 3  # the earlier report
    with open(osp.join(redraw, 'partial_curve.json'), encoding='utf-8') as f:
        again = json.load(f)
    assert [m['label'] for m in again['models']] == ['VPM', 'BoT']
    assert again['models'][0]['curves'] == vpm['curves']
    assert osp.getsize(osp.join(redraw, 'partial_curve.png')) > 1000

    # the model zoo's interface gives the same figures (with the tools' thread count)
    from partial_curve import evaluate_partial
    with cli_threads():
        figures = evaluate_partial([(TINY_VPM, trained['vpm']), (TINY_CFG, trained['bot'])],
                                   [1.0, 0.5], 'bottom', cfg_options={
                                       'test_dataloader.dataset.data_root': tiny_synthetic})
    for model, got in zip((vpm, bot), figures):
        assert sorted(got) == [0.5, 1.0]
        for row in model['curves']['bottom'][::2]:  # ratios 0.5 and 1.0
            assert got[row['ratio']] == pytest.approx(
                {k: v for k, v in row.items() if k != 'ratio'}, abs=1e-6)


@pytest.mark.slow
def test_visibility_report_needs_a_model_with_soft_visibility(trained, tiny_synthetic, tmp_path):
    proc = run_tool([TOOL, '--model', TINY_CFG, trained['bot'], '--data-root', tiny_synthetic,
                     '--visibility-report', '--out-dir', str(tmp_path)], check=False)
    assert proc.returncode != 0
    assert 'none of the models predicts soft region visibility' in proc.stderr
    assert not osp.exists(osp.join(str(tmp_path), 'partial_curve.json'))


def test_uncut_queries_have_no_correlation():
    # 128 / 6 rows per stripe: the kept fractions are 1 up to rounding, not a signal
    stats = visibility_stats([_sample([1, 0.9, 0.8, 0.7, 0.6, 0.5], shape=(128, 64))],
                             (6, 1), 1.0, 'top')
    assert stats['corr'] is None and stats['true_ratio'] == pytest.approx(1.0)
    assert stats['mae'] == pytest.approx(0.25)
