# Paper section 4.2: Adam, initial lr 1e-4, lr x0.1 at the 9th and 12th epoch, batch 8 (the
# batch size lives in the dataloader). The paper gives no epoch count: 14 epochs leave two
# epochs at the final lr, as mmdet's 1x schedule does after its last step.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=14, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=14,
        by_epoch=True,
        milestones=[9, 12],
        gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0))

auto_scale_lr = dict(enable=False, base_batch_size=8)
