"""Training: autodiff (the backward graph), sparse-update schemes, the Trainer, data sets."""
