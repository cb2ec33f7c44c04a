"""Competition submissions: build a BASALT 2022 submission from a VPT model and check it locally.

```python
from vpt.submission import build, check
build("foundation-model-1x.model", "foundation-model-1x.weights", "all", "my-submission")
report = check("my-submission")       # layout + a few short episodes per task on the simulator
```
"""

from vpt.submission.build import build
from vpt.submission.check import CheckReport, check
from vpt.submission.runtime import BASALT_TASKS, INTRO_TASK, SubmissionError

__all__ = ["BASALT_TASKS", "INTRO_TASK", "CheckReport", "SubmissionError", "build", "check"]
