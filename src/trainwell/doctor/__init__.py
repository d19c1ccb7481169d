"""The doctor: find why a recipe does not train, race the lectures' fixes, keep the best.

:func:`doctor` trains the recipe with the live monitor, turns its verdicts into fixes
(:func:`propose_fixes`), races them as a small sweep and writes the repaired recipe.
"""

from trainwell.doctor.doctor import Candidate, doctor
from trainwell.doctor.fixes import Fix, propose_fixes
from trainwell.doctor.result import DoctorResult

__all__ = ["doctor", "DoctorResult", "Candidate", "Fix", "propose_fixes"]
