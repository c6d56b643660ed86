"""Refiner training: crop datasets, CycleGAN-family / SimGAN trainer, losses, DiffAugment, history pool."""
