# Benchmark recipe `gpu-real`: the cpu-real recipe on one GPU (six runs sharing one H100/H200,
# 2 loader workers each): batch 8 instead of 4, so one 10-minute command sees twice the tiles.
# Fields: benchmarks/harness/profiles.py::Profile.
variant = 'r18-light'
iters = 1500
batch_size = 8
pos_fraction = 0.25
crop_size = 256
train_tile = 512
train_stride = 512
val_tile = 512
val_stride = 512
lr = 1e-3
warmup_iters = 50
lr_step = 0.8
grad_clip = 35.0
num_workers = 2
log_interval = 20
val_interval = 500
