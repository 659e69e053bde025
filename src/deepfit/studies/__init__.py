"""Studies: the chapter's comparisons as declarative specs, run over seeds and summarised with statistics."""

from deepfit.studies import catalog
from deepfit.studies.runner import StudyResult, run_study, summary_markdown
from deepfit.studies.spec import STUDIES, Study
from deepfit.studies.stats import paired_difference, summarize, t_critical

__all__ = ["STUDIES", "Study", "StudyResult", "catalog", "paired_difference", "run_study", "summarize",
           "summary_markdown", "t_critical"]
