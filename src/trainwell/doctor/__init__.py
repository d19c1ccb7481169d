"""The doctor: find why a recipe does not train, race the lectures' fixes, keep the best.

:func:`doctor` trains the recipe with the live monitor, turns its verdicts into fixes
(:func:`propose_fixes`), races them as a small sweep and writes the repaired recipe.
"""

from trainwell.doctor.doctor import Candidate, DoctorResult, doctor
from trainwell.doctor.fixes import Fix, propose_fixes

__all__ = ["doctor", "DoctorResult", "Candidate", "Fix", "propose_fixes"]
