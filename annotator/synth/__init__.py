"""Synthetic canine thoracolumbar MRI cohorts with ground truth, since no real data ships.

Plain numpy and pydicom: nothing here imports Django. Start at cohort.write_cohort.
"""

from annotator.synth.cohort import CohortSummary, plan_cohort, write_cohort
from annotator.synth.findings import FINDINGS

__all__ = ["FINDINGS", "CohortSummary", "plan_cohort", "write_cohort"]
