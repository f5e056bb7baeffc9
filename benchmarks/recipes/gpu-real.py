# Benchmark recipe `gpu-real`: the cpu-real recipe on one GPU (six runs sharing one H100/H200,
# 2 loader workers each): batch 8 instead of 4, so one 10-minute command sees twice the tiles.
# Fields: benchmarks/harness/profiles.py::Profile.
_base_ = './cpu-real.py'
batch_size = 8
num_workers = 2
log_interval = 20
