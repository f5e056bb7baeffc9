# Benchmark recipe `cpu-real`: the real half-scale split on 2 CPU cores, the cpu recipe's model
# and geometry, 5x the iterations (300 learn nothing on real tissue from scratch: FROC 0.06),
# evaluated on the held-out slides every 500 iterations to show whether and when it starts to
# learn. Fields: benchmarks/harness/profiles.py::Profile.
variant = 'r18-light'
iters = 1500
batch_size = 4
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
num_workers = 0
log_interval = 10
val_interval = 500
