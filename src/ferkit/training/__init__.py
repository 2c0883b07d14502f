"""Training: typed configs, the trainer loop, checkpoints and distributed set-up."""
