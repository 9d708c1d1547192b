"""Plain PyTorch/numpy code for Dachs: arrays and paths in, numbers out.

Never imports Django: the job functions in ``annotator`` are the only bridge into this package.
"""
