"""Tiles with part overlays and visibility strips; ranked lists with unknown identities."""
import numpy as np
import pytest

from mmreidparts.part_labels.visualize import PALETTE
from mmreidparts.visualization import (
    draw_ranked_list,
    draw_reid_tile,
    draw_visibility_strip,
    embedding_colours,
    visible_parts,
)


def test_colours_grey_for_holistic_then_the_part_palette():
    assert embedding_colours(('foreground', 'head', 'torso')) == (
        (110, 110, 110), PALETTE[0], PALETTE[1])


def test_visibility_strip_cells_fade_with_visibility():
    strip = draw_visibility_strip(np.array([1.0, 0.0, 0.5, 1.0]), ('global', 'a', 'b', 'c'), 40)
    assert strip.shape == (10, 40, 3)
    assert strip[5, 2].tolist() == [110, 110, 110]  # visible: the full colour
    assert strip[5, 12].tolist() == [255, 255, 255]  # invisible: white
    half = np.round(np.array(PALETTE[1]) * 0.5 + 127.5).tolist()
    assert strip[5, 22].tolist() == half
    assert strip[0].min() == 255  # a white line above the cells
    with pytest.raises(ValueError, match='2 embedding names for 4'):
        draw_visibility_strip(np.ones(4), ('a', 'b'), 40)


def test_tile_paints_the_most_likely_visible_part():
    img = np.zeros((32, 16, 3), np.uint8)
    maps = np.zeros((3, 2, 1), np.float32)  # K=2; top half part 1, bottom half part 2
    maps[1, 0] = maps[2, 1] = 1.0
    tile = draw_reid_tile(img, (8, 4), part_map=maps, visibility=np.array([1., 1., 0.]),
                          names=('foreground', 'head', 'legs'),
                          part_visible=visible_parts(maps, np.array([1., 1., 0.]),
                                                     ('foreground', 'head', 'legs')),
                          alpha=1.0)
    assert tile.shape == (18, 4, 3)  # 8 + the strip
    assert tile[0, 0].tolist() == list(PALETTE[0])  # head, visible: painted
    assert tile[7, 0].tolist() == [0, 0, 0]  # legs, invisible: left bare
    plain = draw_reid_tile(img, (8, 4), visibility=np.ones(1), names=('global', ))
    assert plain.shape == (8, 4, 3)  # one embedding: no strip
    assert visible_parts(maps, np.ones(2), ('a', 'b')) is None  # another layout


def test_ranked_list_grey_frame_for_unknown_identity():
    tile = np.full((8, 4, 3), 200, np.uint8)
    sheet = draw_ranked_list([tile], [[tile, tile]], [[True, None]], [[0.5, 1.0]],
                             tile_size=(8, 4), border=2)
    tw = 4 + 4
    assert sheet[0, 12 + tw].tolist() == [0, 170, 0]  # first result: the same person
    assert sheet[0, 12 + 2 * tw].tolist() == [160, 160, 160]  # second: unknown
