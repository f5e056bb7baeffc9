# The demo's recipe `smoke`: a few iterations on a tiny generated set, for tests.
# Fields: demo/pipeline.py::DemoProfile.
num_pos = 4
num_neg = 4
image_size = 256
images_per_slide = 1
drop_rate = 0.5
tile_size = 128
tile_stride = 96
crop = 128
test_tile = 128
test_stride = 96
batch_size = 2
iters = 3
lr = 1e-3
warmup = 1
pos_fraction = 0.5
num_workers = 0
