"""PartParsingMetric and its functional core: hand-worked IoU, absent parts, merging, errors."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData

from mmreidparts.evaluation import PartParsingMetric
from mmreidparts.evaluation.functional import (
    counts_from_confusion,
    parsing_counts,
    parsing_iou,
    parsing_metrics,
    part_confusion,
    predicted_parsing,
)
from mmreidparts.structures import ReIDDataSample, get_part_scheme
from mmreidparts.utils import register_all_modules

# two 2x3 images, K = 2 (classes 0 background, 1, 2), 255 ignored
PRED = torch.tensor([[[0, 1, 1],
                      [2, 2, 0]],
                     [[1, 1, 1],
                      [0, 0, 0]]])
LABEL = torch.tensor([[[0, 1, 2],
                       [2, 255, 1]],
                      [[1, 1, 255],
                       [0, 2, 0]]])
# image 0 (5 counted pixels): hits bg 1, p1 1, p2 1; labelled bg 1, p1 2, p2 2;
#   predicted bg 2 (the pixel under 255 is not counted), p1 2, p2 1
# image 1 (5 counted pixels): hits bg 2, p1 2, p2 0; labelled bg 2, p1 2, p2 1;
#   predicted bg 3, p1 2, p2 0
COUNTS = [[[1, 1, 1], [1, 2, 2], [2, 2, 1]],
          [[2, 2, 0], [2, 2, 1], [3, 2, 0]]]
# over both: bg 3 / (3 + 5 - 3) = 3/5; p1 3 / (4 + 4 - 3) = 3/5; p2 1 / (3 + 1 - 1) = 1/3
IOU = [3 / 5, 3 / 5, 1 / 3]


def _onehot(ids, num_classes=3):
    """Soft maps [N, C, H, W] that put all the mass on ``ids``."""
    return F.one_hot(ids, num_classes).permute(0, 3, 1, 2).float()


def _sample(pred=None, label=None, path='img.jpg'):
    sample = ReIDDataSample(metainfo=dict(img_path=path))
    if pred is not None:
        sample.pred_part_map = PixelData(data=pred)
    if label is not None:
        sample.set_gt_part_map(label)
    return sample


def _samples(soft=True):
    preds = _onehot(PRED) if soft else PRED
    return [_sample(p, lab, f'img{i}.jpg') for i, (p, lab) in enumerate(zip(preds, LABEL))]


def test_counts_and_confusion_hand_worked():
    counts = parsing_counts(PRED, LABEL, 3)
    assert counts.tolist() == COUNTS
    conf = part_confusion(PRED, LABEL, 3)
    assert counts_from_confusion(conf).tolist() == counts.sum(dim=0).tolist()
    stats = parsing_iou(counts.sum(dim=0))
    assert stats['iou'].tolist() == pytest.approx(IOU)
    assert stats['label_share'].tolist() == pytest.approx([3 / 10, 4 / 10, 3 / 10])
    assert stats['pred_share'].tolist() == pytest.approx([5 / 10, 4 / 10, 1 / 10])


@pytest.mark.parametrize('soft', [True, False])
def test_metric_hand_worked(soft):
    metric = PartParsingMetric(num_parts=2)
    metric.process(None, [s.to_dict() for s in _samples(soft)])  # what Evaluator passes
    assert [r.tolist() for r in metric.results] == COUNTS
    out = metric.compute_metrics(metric.results)
    assert out['IoU_background'] == pytest.approx(100 * IOU[0])
    assert out['IoU_part1'] == pytest.approx(100 * IOU[1])
    assert out['IoU_part2'] == pytest.approx(100 * IOU[2])
    assert out['mIoU'] == pytest.approx(100 * (IOU[1] + IOU[2]) / 2)
    assert out['mIoU_all'] == pytest.approx(100 * sum(IOU) / 3)


def test_absent_part_has_no_iou_and_is_left_out_of_the_means():
    # K = 3: part 3 is neither labelled nor predicted
    maps = _onehot(PRED, 4)
    samples = [_sample(p, lab) for p, lab in zip(maps, LABEL)]
    metric = PartParsingMetric(num_parts=3)
    metric.process(None, samples)
    out = metric.compute_metrics(metric.results)
    assert math.isnan(out['IoU_part3'])
    assert out['mIoU'] == pytest.approx(100 * (IOU[1] + IOU[2]) / 2)
    assert out['mIoU_all'] == pytest.approx(100 * sum(IOU) / 3)
    skip = PartParsingMetric(num_parts=3, absent='skip')
    skip.process(None, samples)
    out = skip.compute_metrics(skip.results)
    assert 'IoU_part3' not in out and out['IoU_part2'] == pytest.approx(100 * IOU[2])
    # a part that is labelled but never predicted has IoU 0, and counts in the mean
    only = parsing_metrics(torch.tensor([[4, 0], [4, 3], [7, 0]]))
    assert only['IoU_part1'] == 0.0 and only['mIoU'] == 0.0
    # nothing at all: the means are NaN
    assert math.isnan(parsing_metrics(torch.zeros(3, 3, dtype=torch.long))['mIoU'])


def test_counts_merge_across_processes_as_in_one():
    """DDP: each rank keeps one count entry per sample, collect_results interleaves the ranks'
    lists and truncates them to the dataset size (dropping a padded sampler's duplicates),
    and the sum is the single-process figure."""
    samples = _samples()
    single = PartParsingMetric(num_parts=2)
    single.process(None, samples)
    ranks = [PartParsingMetric(num_parts=2) for _ in range(2)]
    ranks[0].process(None, samples[:1])
    ranks[1].process(None, samples[1:])
    # collect_results: zip the ranks' lists in turn, truncate to the dataset size
    ranks[1].process(None, samples[:1])  # the padding of a round-up sampler
    gathered = [r for pair in zip(ranks[0].results, ranks[1].results) for r in pair]
    gathered = gathered[:len(samples)]
    assert single.compute_metrics(single.results) == PartParsingMetric(
        num_parts=2).compute_metrics(gathered)


def test_soft_maps_are_upsampled_bilinearly_to_the_label():
    torch.manual_seed(0)
    maps = torch.rand(2, 3, 2, 1).softmax(dim=1)  # [N, K+1, 2, 1]
    labels = torch.randint(0, 3, (2, 8, 4))
    pred, label = predicted_parsing(maps, labels)
    expected = F.interpolate(maps, size=(8, 4), mode='bilinear', align_corners=False).argmax(1)
    assert torch.equal(pred, expected) and torch.equal(label, labels)
    metric = PartParsingMetric(num_parts=2)
    metric.process(None, [_sample(m, lab) for m, lab in zip(maps, labels)])
    assert torch.equal(torch.stack(metric.results).sum(0),
                       counts_from_confusion(part_confusion(expected, labels, 3)))
    # resolution='map': the labels come to the map size the way the heads' targets do
    from mmreidparts.models.utils import resize_part_labels
    pred, label = predicted_parsing(maps, labels, resolution='map', label_resize='nearest')
    assert torch.equal(label, resize_part_labels(labels, (2, 1), 3, 'nearest'))
    assert torch.equal(pred, maps.argmax(1))


def test_part_names_come_from_the_scheme_or_the_dataset():
    names = get_part_scheme('bpbreid5').names
    maps = torch.zeros(1, 6, 2, 2)
    maps[0, 1] = 1  # everything predicted as the first part
    label = torch.ones(1, 2, 2, dtype=torch.long)
    for kwargs, meta in ((dict(part_scheme='bpbreid5'), None),
                         (dict(), dict(part_scheme='bpbreid5'))):
        metric = PartParsingMetric(**kwargs)
        metric.dataset_meta = meta
        metric.process(None, [_sample(maps[0], label[0])])
        out = metric.compute_metrics(metric.results)
        assert out[f'IoU_{names[0]}'] == 100.0 and out['mIoU'] == 100.0


def test_k_mismatch_and_bad_ids_name_the_key_the_image_and_k():
    metric = PartParsingMetric(num_parts=3)
    with pytest.raises(ValueError, match=r"'pred_part_map' of img0.jpg has 3 channels.*K=3"):
        metric.process(None, _samples())
    metric = PartParsingMetric(part_scheme='bpbreid5')
    with pytest.raises(ValueError, match=r"K=5 \(part_scheme 'bpbreid5'\)"):
        metric.process(None, _samples())
    metric = PartParsingMetric()
    metric.dataset_meta = dict(part_scheme='bpbreid8')
    with pytest.raises(ValueError, match=r"dataset's part_scheme 'bpbreid8'"):
        metric.process(None, _samples())
    bad = LABEL.clone()
    bad[1, 0, 0] = 4
    samples = [_sample(p, lab, f'img{i}.jpg') for i, (p, lab) in
               enumerate(zip(_onehot(PRED), bad))]
    with pytest.raises(ValueError, match=r"'gt_part_map' of img1.jpg holds the part id 4.*K=2"):
        PartParsingMetric(num_parts=2).process(None, samples)
    with pytest.raises(ValueError, match='num_parts=4 but part_scheme'):
        PartParsingMetric(num_parts=4, part_scheme='bpbreid5')


def test_missing_labels_or_maps_say_what_to_configure():
    maps = _onehot(PRED)
    with pytest.raises(KeyError, match=r"img.jpg has no 'gt_part_map'.*LoadPartLabel"):
        PartParsingMetric().process(None, [_sample(maps[0], None)])
    with pytest.raises(KeyError, match=r"no 'pred_part_map'.*return_part_maps=True"):
        PartParsingMetric().process(None, [_sample(None, LABEL[0])])
    with pytest.raises(ValueError, match='resolution'):
        PartParsingMetric(resolution='input')


def test_reported_next_to_the_reid_metric():
    register_all_modules()
    evaluator = Evaluator([dict(type='ReIDMetric', protocol='all', topk=(1, )),
                           dict(type='PartParsingMetric', num_parts=2)])
    samples = _samples()
    for i, sample in enumerate(samples):
        sample.set_metainfo(dict(pid=1, camid=i, is_query=i == 0))
        sample.set_prediction(torch.ones(1, 4))
    evaluator.process(samples)
    out = evaluator.evaluate(len(samples))
    assert out['reid/rank1'] == 100.0
    assert out['parsing/mIoU'] == pytest.approx(100 * (IOU[1] + IOU[2]) / 2)


def _rank_worker(rank, port, out_dir):
    """One gloo process: process this rank's share (rank 1 also a padded copy of sample 0,
    as a round-up sampler gives it), then evaluate."""
    import json
    import os.path as osp

    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    try:
        samples = _samples()
        metric = PartParsingMetric(num_parts=2)
        metric.process(None, samples[rank:rank + 1] + (samples[:1] if rank else []))
        out = metric.evaluate(size=len(samples))
        with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(out, f)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_give_the_single_process_figures(tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(_rank_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    single = PartParsingMetric(num_parts=2)
    single.process(None, _samples())
    expected = {f'parsing/{k}': v for k, v in single.compute_metrics(single.results).items()}
    for rank in range(2):
        got = json.loads((tmp_path / f'rank{rank}.json').read_text())
        assert got == pytest.approx(expected)
