# The main job's model with the plugin's head. Run from the repository root with
#   PYTHONPATH=projects/example_plugin python tools/train.py \
#       projects/example_plugin/configs/stripe_bot_mobilenetv2_1xb64_synthetic.py
_base_ = ['../../../configs/baseline/bot_mobilenetv2_1xb64_synthetic.py']

custom_imports = dict(imports=['reid_plugin'], allow_failed_imports=False)
model = dict(head=dict(type='StripeBNNeckHead', num_stripes=2))
