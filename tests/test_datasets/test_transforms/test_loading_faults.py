"""Images and labels as they come from users: odd formats load exactly, broken files are named."""
import cv2
import numpy as np
import pytest
from PIL import Image

from mmreidparts.datasets.transforms import LoadPartLabel, LoadPifPafLabel, LoadReIDImage
from mmreidparts.datasets.transforms.loading import read_label_map
from mmreidparts.datasets.transforms.pifpaf_labels import read_pifpaf_fields
from mmreidparts.utils.errors import CorruptFileError, LabelError

RNG = np.random.RandomState(3)
BGR = RNG.randint(0, 256, (12, 6, 3), dtype=np.uint8)


def _load(path: str, **kwargs) -> np.ndarray:
    out = LoadReIDImage(**kwargs)(dict(img_path=str(path)))
    assert out['img'].dtype == np.uint8 and out['img'].ndim == 3
    assert out['img_shape'] == out['img'].shape[:2]
    return out['img']


def test_grey_image_repeats_over_three_channels(tmp_path):
    path = str(tmp_path / 'grey.png')
    cv2.imwrite(path, BGR[..., 0])
    img = _load(path)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], BGR[..., 0])


@pytest.mark.parametrize('ext', ['.png', '.tif'])
def test_16_bit_image_is_scaled_to_8_bits(tmp_path, ext):
    wide = (np.arange(12 * 6 * 3).reshape(12, 6, 3) * 300 % 65536).astype(np.uint16)
    wide[0, 0] = (0, 128, 129)
    wide[0, 1] = (65535, 65407, 257)
    path = str(tmp_path / f'wide{ext}')
    cv2.imwrite(path, wide)
    img = _load(path)
    np.testing.assert_array_equal(img, np.round(wide / 257.0).astype(np.uint8))
    assert img[0, 0].tolist() == [0, 0, 1] and img[0, 1].tolist() == [255, 255, 1]


def test_rgba_image_keeps_its_colour_channels(tmp_path):
    path = str(tmp_path / 'rgba.png')
    alpha = np.full((12, 6), 7, dtype=np.uint8)  # mostly transparent: ignored
    cv2.imwrite(path, np.dstack([BGR, alpha]))
    np.testing.assert_array_equal(_load(path), BGR)


def test_exif_orientation_is_applied(tmp_path):
    path = str(tmp_path / 'rotated.jpg')
    pil = Image.fromarray(BGR[..., ::-1].copy())
    exif = pil.getexif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    pil.save(path, exif=exif, quality=95)
    raw = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    assert raw.shape == (12, 6, 3)
    img = _load(path)
    assert img.shape == (6, 12, 3)
    np.testing.assert_array_equal(img, cv2.rotate(raw, cv2.ROTATE_90_CLOCKWISE))


def test_tif_image_loads_exactly(tmp_path):
    path = str(tmp_path / '0001_c1.tif')
    cv2.imwrite(path, BGR)
    np.testing.assert_array_equal(_load(path), BGR)


def test_empty_truncated_and_float_images_are_refused_by_name(tmp_path):
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    with pytest.raises(CorruptFileError, match=f'{empty} is empty \\(0 bytes\\)'):
        _load(empty)
    big = np.kron(BGR, np.ones((8, 8, 1), np.uint8))  # 96 x 48: mostly pixel data
    cv2.imwrite(str(tmp_path / 'full.jpg'), big)
    data = (tmp_path / 'full.jpg').read_bytes()
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(data[:len(data) * 4 // 5])
    # libjpeg decodes it (grey rows for the missing data): a silent wrong image
    assert cv2.imread(str(cut)) is not None
    with pytest.raises(CorruptFileError, match=f'{cut} is truncated: the JPEG data ends '
                                               'without its end-of-image marker'):
        _load(cut)
    assert _load(cut, check_truncated=False).shape == big.shape
    # padding after the end marker is fine
    padded = tmp_path / 'padded.jpg'
    padded.write_bytes(data + b'\x00\x00\n')
    assert _load(padded).shape == big.shape
    cv2.imwrite(str(tmp_path / 'full.png'), BGR)
    png = (tmp_path / 'full.png').read_bytes()
    cut_png = tmp_path / 'cut.png'
    cut_png.write_bytes(png[:len(png) // 2])
    with pytest.raises(CorruptFileError, match=f'cannot decode the image file {cut_png}'):
        _load(cut_png)
    floats = str(tmp_path / 'float.tif')
    cv2.imwrite(floats, BGR.astype(np.float32) / 255)
    with pytest.raises(CorruptFileError, match='float32 pixels; expected an 8- or 16-bit'):
        _load(floats)


def _record(tmp_path, label_path, h: int = 8, w: int = 4) -> dict:
    img = str(tmp_path / 'img.png')
    cv2.imwrite(img, np.zeros((h, w, 3), np.uint8))
    out = LoadReIDImage()(dict(img_path=img))
    out.update(part_map_path=str(label_path), part_scheme='bpbreid8', part_source_scheme=None)
    return out


def test_label_map_of_another_aspect_ratio_is_refused(tmp_path):
    label = np.arange(32, dtype=np.uint8).reshape(4, 8) % 9  # 8 wide, 4 high
    path = tmp_path / 'transposed.png'
    cv2.imwrite(str(path), label)
    with pytest.raises(LabelError) as err:
        LoadPartLabel()(_record(tmp_path, path, h=8, w=4))
    msg = str(err.value)
    assert str(path) in msg and 'is 8x4 (WxH)' in msg and 'is 4x8' in msg
    # switched off, it is resized like any other map
    out = LoadPartLabel(aspect_tolerance=None)(_record(tmp_path, path, h=8, w=4))
    assert out['gt_seg_map'].shape == (8, 4)
    # a map 5% wider than a scaled copy: within the tolerance, resized with nearest
    near = cv2.resize(np.ascontiguousarray(label.T), (21, 40),
                      interpolation=cv2.INTER_NEAREST)  # 40 x 21: aspect 1.90 for 2.0
    cv2.imwrite(str(path), near)
    out = LoadPartLabel()(_record(tmp_path, path, h=8, w=4))
    np.testing.assert_array_equal(
        out['gt_seg_map'], cv2.resize(near, (4, 8), interpolation=cv2.INTER_NEAREST))


def test_label_ids_outside_the_scheme_name_the_file(tmp_path):
    label = np.zeros((8, 4), np.uint8)
    label[2, 1] = 12
    path = tmp_path / 'ids.png'
    cv2.imwrite(str(path), label)
    with pytest.raises(LabelError, match=f"{path} holds id 12, but its scheme 'bpbreid8' "
                                         'has K=8 parts'):
        LoadPartLabel()(_record(tmp_path, path))


def test_broken_label_files_name_the_file(tmp_path):
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(CorruptFileError, match=f'{empty} is empty'):
        read_label_map(str(empty))
    cv2.imwrite(str(tmp_path / 'ok.png'), np.ones((8, 4), np.uint8))
    data = (tmp_path / 'ok.png').read_bytes()
    cut = tmp_path / 'cut.png'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptFileError, match=f'cannot decode the part label file {cut}'):
        read_label_map(str(cut))
    rgb = tmp_path / 'rgb.png'
    cv2.imwrite(str(rgb), np.zeros((8, 4, 3), np.uint8))
    with pytest.raises(LabelError, match=f'{rgb} is a RGB image'):
        read_label_map(str(rgb))
    pickled = tmp_path / 'obj.npy'
    np.save(str(pickled), np.array([{'a': 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError, match=f'cannot read the part label file {pickled}'):
        read_label_map(str(pickled))
    np.save(str(tmp_path / 'empty.npy'), np.zeros((0, 4), np.uint8))
    with pytest.raises(LabelError, match=r'shape \(0, 4\)'):
        read_label_map(str(tmp_path / 'empty.npy'))


def test_broken_pifpaf_fields_name_the_file(tmp_path):
    fields = np.full((36, 4, 2), 0.9, np.float32)
    fields[3, 1, 1] = np.nan
    path = tmp_path / '0001_c1.npy'
    np.save(str(path), fields)
    with pytest.raises(LabelError, match=f'{path} holds NaN or Inf'):
        read_pifpaf_fields(str(path))
    results = _record(tmp_path, path)
    results['pifpaf_path'] = str(path)
    with pytest.raises(LabelError):
        LoadPifPafLabel()(results)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptFileError, match=f'cannot read the PifPaf field file {path}'):
        read_pifpaf_fields(str(path))
    path.write_bytes(b'')
    with pytest.raises(CorruptFileError, match='empty'):
        read_pifpaf_fields(str(path))
