"""The VPT policy (weight-compatible with OpenAI's released models), safe loading and saving
of the official ``.model`` / ``.weights`` files, and the ``Agent`` that plays with it.

```python
from vpt.agent import Agent, load_policy
agent = Agent.load("foundation-model-1x.model", "foundation-model-1x.weights")
agent.reset(); action = agent.get_action(obs)
policy = load_policy(model_path, weights_path)
out, state = policy(frames, first, policy.initial_state(batch_size))
```
"""

from vpt.agent.agent import Agent, AgentStep
from vpt.agent.files import (
    ModelFileError,
    StateDictMismatchError,
    StateDictReport,
    UnsafeModelFileError,
    compare_state_dict,
    export_safetensors,
    load_policy,
    load_policy_safetensors,
    read_model_file,
    read_weights_file,
    safe_unpickle,
    save_policy,
)
from vpt.agent.policy import ModelConfigError, PolicyConfig, PolicyOutput, PolicyState, VPTPolicy

__all__ = [
    "Agent",
    "AgentStep",
    "ModelConfigError",
    "ModelFileError",
    "PolicyConfig",
    "PolicyOutput",
    "PolicyState",
    "StateDictMismatchError",
    "StateDictReport",
    "UnsafeModelFileError",
    "VPTPolicy",
    "compare_state_dict",
    "export_safetensors",
    "load_policy",
    "load_policy_safetensors",
    "read_model_file",
    "read_weights_file",
    "safe_unpickle",
    "save_policy",
]
