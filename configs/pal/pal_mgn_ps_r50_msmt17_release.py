# The authors' released PAL-MGN MGN+PS model for MSMT17 (model_weight.pth), once converted by
#   python tools/model_converters/pal_to_mmreidparts.py SRC DST --variant mgn_ps
# (or tools/model_zoo.py convert): the MGN config of part awareness learning with the release's
# global-feature layout (Em256 then FC256 for f^j; the global classifiers on their own Em2048
# of the pooled map). Input, flip TTA and normalisation are the config's. For training, use
# mgn_ps_r50_1xb128_msmt17.py.
_base_ = ['./mgn_ps_r50_1xb128_msmt17.py']

model = dict(
    head=dict(global_embedding='em_fc', global_classifier='separate', global_cls_dim=2048))
