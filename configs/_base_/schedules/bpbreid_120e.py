# BPBreID recipe = BoT's: Adam 3.5e-4 (betas 0.9, 0.999), weight decay 5e-4; linear warm-up
# from 3.5e-5 reaching 3.5e-4 at epoch 10; x0.1 at epochs 40 and 70; 120 epochs, evaluation
# after the last one.
_base_ = ['./bot_120e.py']
