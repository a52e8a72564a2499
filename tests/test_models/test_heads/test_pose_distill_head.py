"""Pose distillation head: heat-map targets, both losses, the part-map contract."""
import math

import pytest
import torch

from mmreidparts.models.heads import PoseDistillHead
from mmreidparts.models.utils import keypoint_heatmaps
from mmreidparts.structures import ReIDDataSample


def test_heatmaps_peak_on_the_keypoint_cell_and_fall_by_exp_minus_half_a_cell_away():
    # 16x8 input, 4x2 grid: cells of 4x4 pixels, centres at x = 2, 6 and y = 2, 6, 10, 14
    kps = torch.tensor([[[6.0, 10.0, 2.0], [2.0, 2.0, 0.0]]])  # second keypoint missing
    maps = keypoint_heatmaps(kps, (4, 2), (16, 8), sigma=1.0)
    assert maps.shape == (1, 2, 4, 2)
    assert maps[0, 0, 2, 1] == pytest.approx(1.0)
    assert maps[0, 0, 1, 1] == pytest.approx(math.exp(-0.5))  # one cell up
    assert maps[0, 0, 2, 0] == pytest.approx(math.exp(-0.5))  # one cell left
    assert maps[0, 0, 1, 0] == pytest.approx(math.exp(-1.0))  # diagonal
    assert float(maps[0, 1].abs().sum()) == 0.0


def _samples(with_person=(True, False)):
    out = []
    for i, person in enumerate(with_person):
        labels = torch.full((16, 8), 255)
        labels[:8] = i + 1  # top half: atom i + 1; bottom half ignored
        kps = torch.zeros(17, 3)
        if person:
            kps[0] = torch.tensor([6.0, 10.0, 2.0])
        s = ReIDDataSample().set_gt_label(i).set_gt_part_map(labels)
        s.set_field(kps, 'gt_keypoints', dtype=torch.Tensor)
        out.append(s)
    return out


def test_losses_follow_the_labels_and_skip_images_without_a_person():
    head = PoseDistillHead(in_channels=4, num_classes=2)
    x = torch.zeros(2, 4, 4, 2)
    losses = head.loss(x, _samples())
    assert set(losses) == {'loss_parts', 'loss_heatmaps', 'part_acc'}
    # zero features: uniform logits over the 14 classes, zero heat-maps
    assert losses['loss_parts'].item() == pytest.approx(math.log(14), abs=1e-5)
    target = keypoint_heatmaps(torch.tensor([[[6.0, 10.0, 2.0]]]), (4, 2), (16, 8))
    # only image 0 has a person: its error summed over the grid, averaged over 17 keypoints
    assert losses['loss_heatmaps'].item() == pytest.approx(float(target.pow(2).sum()) / 17,
                                                           rel=1e-5)
    # a perfect read-out of image 0's heat-map drives its error to zero
    head.heatmap_regressor.weight.data.zero_()
    with torch.no_grad():
        feats = torch.zeros(2, 4, 4, 2)
        feats[:, 0] = target[0, 0]
        head.heatmap_regressor.weight[0, 0] = 1.0
    assert head.loss(feats, _samples())['loss_heatmaps'].item() == pytest.approx(0, abs=1e-7)
    with pytest.raises(KeyError, match='LoadKeypoints'):
        head.loss(x, [ReIDDataSample().set_gt_label(0).set_gt_part_map(torch.zeros(16, 8))])


def test_predict_fills_the_contract_and_the_part_maps_when_asked():
    head = PoseDistillHead(in_channels=4, num_classes=2).eval()
    x = torch.randn(2, 4, 4, 2)
    out = head(x)
    assert out['part_maps'].shape == (2, 14, 4, 2)
    assert torch.allclose(out['part_maps'].sum(dim=1), torch.ones(2, 4, 2))
    samples = head.predict(x)
    assert samples[0].embeddings.shape == (1, 4) and 'pred_part_map' not in samples[0]
    head.return_part_maps = True
    samples = head.predict(x)
    assert samples[1].pred_part_map.data.shape == (14, 4, 2)
    with pytest.raises(ValueError, match='num_parts'):
        PoseDistillHead(in_channels=4, num_parts=8)
