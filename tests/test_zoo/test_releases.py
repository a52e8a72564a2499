"""Release layouts: a converter recognises its release and names what another one has."""
import pytest
import torch

from mmreidparts.zoo.releases import (
    RELEASE_LAYOUTS,
    ReleaseLayout,
    check_release,
    identify_release,
    layout_problems,
    register_release_layout,
)

T = torch.zeros(1)
BPBREID = dict(state_dict={'module.pixel_classifier.classifier.weight': T,
                           'module.backbone_appearance_feature_extractor.conv1.weight': T},
               epoch=120, config={})
EANET = dict(state_dicts=dict(model={'backbone.conv1.weight': T, 'em_list.0.0.weight': T,
                                     'cls_list.0.weight': T}), epoch=60, score=0.9)
BILINEAR = dict(app_state_dict={'input_feat.weight': T, 'inception_4a.x': T},
                part_state_dict={'pose1.weight': T}, epoch=750)


@pytest.mark.parametrize('ckpt,name', [(BPBREID, 'BPBreID'), (EANET, 'EANet / PAL'),
                                       (BILINEAR, 'part-aligned bilinear')])
def test_each_release_is_recognised(ckpt, name):
    assert identify_release(ckpt) == name
    check_release(ckpt, name, 'f.pth')  # no error


def test_another_release_is_refused_with_what_differs():
    with pytest.raises(ValueError) as err:
        check_release(EANET, 'BPBreID', 'ckpt.pth')
    text = str(err.value)
    assert text.startswith('ckpt.pth: not a BPBreID release checkpoint')
    assert "top-level keys ['state_dict'] are missing" in text
    assert "it has ['epoch', 'score', 'state_dicts']" in text
    assert 'it has the layout of the EANet / PAL release (no converter yet)' in text
    with pytest.raises(ValueError, match=r"no weights named \['pixel_classifier.classifier."
                       r"weight'\]"):
        check_release(dict(state_dict={'module.backbone_appearance_feature_extractor.x': T}),
                      'BPBreID', 'f.pth')


def test_unknown_files_and_new_layouts():
    assert identify_release([1, 2]) is None
    assert layout_problems([1, 2], RELEASE_LAYOUTS['BPBreID']) == ['it holds a list, not a dict']
    layout = ReleaseLayout(name='test release', top_keys=('weights', ), weights_at=('weights', ),
                           markers=('stem.', 'fc.weight'))
    register_release_layout(layout)
    try:
        assert identify_release(dict(weights={'stem.conv.weight': T, 'fc.weight': T})) == \
            'test release'
        assert identify_release(dict(weights={'stem.conv.weight': T})) is None
        with pytest.raises(KeyError, match='already registered'):
            register_release_layout(layout)
    finally:
        RELEASE_LAYOUTS.pop('test release')
