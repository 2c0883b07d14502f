"""Image transforms: batched tensor augmentation, illumination normalisation, test-time augmentation."""
