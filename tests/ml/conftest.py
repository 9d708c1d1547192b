"""ml tests run on two torch threads, like the project's 2-core machines (more only adds
contention in CI)."""

import torch

torch.set_num_threads(2)
