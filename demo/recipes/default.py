# The demo's recipe `default` (make demo): 24 + 24 generated 640 px images, 700 iterations of
# DGHM-C from scratch (about 8 minutes on 2 CPU cores). Fields: demo/pipeline.py::DemoProfile.
num_pos = 24
num_neg = 24
image_size = 640
images_per_slide = 2
drop_rate = 0.5
tile_size = 320
tile_stride = 160
crop = 256
test_tile = 320
test_stride = 256
batch_size = 4
iters = 700
lr = 1e-3
warmup = 50
pos_fraction = 0.5
num_workers = 1
