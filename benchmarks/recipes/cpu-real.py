# Benchmark recipe `cpu-real`: the real half-scale split on 2 CPU cores, the cpu recipe's model
# and geometry, 5x the iterations (300 learn nothing on real tissue from scratch: FROC 0.06),
# evaluated on the held-out slides every 500 iterations to show whether and when it starts to
# learn. Fields: benchmarks/harness/profiles.py::Profile.
_base_ = './cpu.py'
iters = 1500
val_interval = 500
train_eval_max_images = 0
