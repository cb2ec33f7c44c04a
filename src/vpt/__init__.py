"""vpt: Video PreTraining for Minecraft agents.

Load and produce OpenAI's released VPT formats (``.model`` + ``.weights``, contractor
``.mp4`` + ``.jsonl``), train inverse dynamics models, behavioural-cloning and RL policies,
and run everything end to end on an embedded Minecraft-like simulator that speaks MineRL's
interface. See ``README.md`` and ``docs/``.
"""

__version__ = "0.1.0"
