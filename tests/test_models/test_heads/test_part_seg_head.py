"""PartSegHead: the four layouts, label targets, loss over one or several maps."""
import pytest
import torch

from mmreidparts.models.heads import PartSegHead
from mmreidparts.models.losses import class_balanced_cross_entropy
from mmreidparts.structures import ReIDDataSample


def _samples(labels, paths=None):
    out = []
    for i, label in enumerate(labels):
        sample = ReIDDataSample(metainfo=dict(img_path=(paths or {}).get(i, f'img{i}.jpg')))
        out.append(sample.set_gt_part_map(label))
    return out


@pytest.mark.parametrize('head_type,size', [('a', (24, 8)), ('b', (24, 8)), ('c', (48, 16)),
                                            ('d', (96, 32))])
def test_output_size_of_each_layout_on_a_resnet50_map(head_type, size):
    head = PartSegHead(in_channels=2048, num_classes=8, head_type=head_type).eval()
    with torch.no_grad():
        out = head((torch.randn(2, 2048, 24, 8), ))
    assert out['part_logits'][0].shape == (2, 8) + size
    maps = out['part_maps']
    assert maps.shape == (2, 8) + size
    assert torch.allclose(maps.sum(dim=1), torch.ones(2, *size))  # softmax over classes


def test_type_c_doubles_a_16x8_map_and_layer_layout():
    head = PartSegHead(in_channels=16, num_classes=8)
    assert head((torch.randn(1, 16, 16, 8), ))['part_logits'][0].shape == (1, 8, 32, 16)
    deconv = head.hidden[0].conv
    assert isinstance(deconv, torch.nn.ConvTranspose2d) and deconv.bias is None
    assert deconv.out_channels == 256 and deconv.stride == (2, 2)
    assert torch.count_nonzero(head.classifier.bias) == 0
    assert head.classifier.weight.std().item() == pytest.approx(0.001, rel=0.2)
    assert len(PartSegHead(in_channels=16, head_type='a').hidden) == 0
    with pytest.raises(ValueError, match='head_type'):
        PartSegHead(in_channels=16, head_type='e')


def test_targets_are_nearest_block_subsamples():
    head = PartSegHead(in_channels=4, num_classes=8, head_type='a')
    blocks = torch.randint(0, 8, (2, 3, 2))
    label = blocks.repeat_interleave(8, dim=1).repeat_interleave(8, dim=2)  # [2, 24, 16]
    target = head.part_targets(_samples(label), (3, 2), torch.device('cpu'))
    assert torch.equal(target, blocks)  # 1/8 of constant 8x8 blocks = the blocks
    assert not target.is_floating_point()
    rand = torch.randint(0, 8, (1, 48, 16))
    rand[0, 0, 0] = 255
    small = head.part_targets(_samples(rand), (12, 4), torch.device('cpu'))
    assert set(small.unique().tolist()) <= set(rand.unique().tolist())  # values kept


def test_loss_is_the_mean_over_the_shared_maps():
    torch.manual_seed(0)
    head = PartSegHead(in_channels=4, num_classes=3, head_type='b', in_index=(0, 1, 2))
    maps = tuple(torch.randn(2, 4, 6, 2) for _ in range(3))
    labels = torch.randint(0, 3, (2, 12, 4))
    losses = head.loss(maps, _samples(labels))
    target = head.part_targets(_samples(labels), (6, 2), torch.device('cpu'))
    expected = sum(class_balanced_cross_entropy(head.part_logits(m), target) for m in maps) / 3
    assert losses['loss_ps'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert 0 <= losses['acc_ps'].item() <= 100
    # one set of weights serves every map
    single = PartSegHead(in_channels=4, num_classes=3, head_type='b')
    assert sum(p.numel() for p in head.parameters()) == sum(
        p.numel() for p in single.parameters())


def test_labels_outside_the_classes_name_the_image_and_the_key():
    head = PartSegHead(in_channels=4, num_classes=5, head_type='a')
    labels = torch.zeros(2, 8, 4, dtype=torch.long)
    labels[1, 3, 2] = 7
    samples = _samples(labels, paths={1: '/data/market/0002_c1s1_000451_03.jpg'})
    with pytest.raises(ValueError, match=r'0002_c1s1_000451_03\.jpg.*class id 7.*'
                                         r'aux_heads\.<name>\.num_classes'):
        head.loss((torch.randn(2, 4, 4, 2), ), samples)
    labels[1, 3, 2] = 255  # ignored pixels are fine
    head.loss((torch.randn(2, 4, 4, 2), ), _samples(labels))
    with pytest.raises(KeyError, match='gt_part_map'):
        head.loss((torch.randn(1, 4, 4, 2), ), [ReIDDataSample()])
    with pytest.raises(ValueError, match='in_channels'):
        head.loss((torch.randn(2, 6, 4, 2), ), _samples(labels))


def test_predict_stores_the_part_maps():
    head = PartSegHead(in_channels=4, num_classes=8).eval()
    samples = head.predict((torch.randn(2, 4, 6, 2), ))
    assert samples[0].pred_part_map.data.shape == (8, 12, 4)
    assert 'embeddings' not in samples[0]
