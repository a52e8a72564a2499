# The dilated Market-1501 model tested with the 500k distractor images added to the gallery
# (the paper's Table 3: galleries of 19,732 / 119,732 / 219,732 / 519,732 images). All 500k
# by default; the smaller galleries with
#   --cfg-options test_dataloader.dataset.num_distractors=100000   (or 200000)
# Layout: Market-1501's folders plus <data_root>/bounding_box_test_500k/.
_base_ = ['./bilinear_googlenet_openpose_d2_1xb180_market1501.py']

val_dataloader = dict(
    dataset=dict(type='Market1501Distractors', distractor_dir='bounding_box_test_500k',
                 num_distractors=None))
test_dataloader = val_dataloader
