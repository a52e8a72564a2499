# The authors' released EANet GlobalPool model (GlobalPool_duke/ckpt.pth), once
# converted by
#   python tools/model_converters/pal_to_mmreidparts.py SRC DST --variant globalpool
# (or tools/model_zoo.py convert): the GlobalPool config of part awareness learning with the
# release's input normalisation (mean [0.486, 0.459, 0.408], std [0.229, 0.224, 0.225]);
# its test features (each part embedding L2-normalised, concatenated, cosine distance) are the
# config's. For training, use globalpool_r50_1xb32_dukemtmcreid.py.
_base_ = ['./globalpool_r50_1xb32_dukemtmcreid.py']

model = dict(
    data_preprocessor=dict(mean=[123.93, 117.045, 104.04], std=[58.395, 57.12, 57.375]))
