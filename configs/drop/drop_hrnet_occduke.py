# DROP on Occluded-Duke with HRNet-W32 at 256x128, the paper's headline model, under the name
# users type: tools/dist_train.sh configs/drop/drop_hrnet_occduke.py 2
# (2 processes x 8 ids x 4 images = the global batch of 64; PCT and the memory bank see
# the global batch). Same as drop_hrnet32_2xb32_occluded_duke.py.
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']
