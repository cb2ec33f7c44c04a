"""Reading and writing IDM ``.model`` + ``.weights`` files (same safe rules as the policy)."""

from __future__ import annotations

import torch

from vpt.agent.files import (
    PathLike,
    load_state_dict_strict,
    read_model_kwargs,
    read_weights_file,
    write_model_files,
)
from vpt.agent.policy import ModelConfigError
from vpt.idm.model import IDMConfig, InverseDynamicsModel

__all__ = ["read_idm_model_file", "load_idm", "save_idm"]


def read_idm_model_file(path: PathLike) -> IDMConfig:
    """Read an IDM ``.model`` file without executing code and validate its kwargs."""
    net_kwargs, pi_head_opts = read_model_kwargs(path)
    try:
        return IDMConfig.from_kwargs(net_kwargs, pi_head_opts)
    except ModelConfigError as e:
        raise ModelConfigError(f"{path}: {e}") from None


def load_idm(model_path: PathLike, weights_path: PathLike, device: torch.device | str = "cpu") -> InverseDynamicsModel:
    """Load an official IDM pair (e.g. ``4x_idm.model`` + ``4x_idm.weights``) in eval mode.

    Raises:
        UnsafeModelFileError, ModelFileError, ModelConfigError, StateDictMismatchError.
    """
    cfg = read_idm_model_file(model_path)
    model = InverseDynamicsModel(cfg)
    load_state_dict_strict(model, read_weights_file(weights_path), str(weights_path))
    return model.to(device).eval()


def save_idm(model: InverseDynamicsModel, model_path: PathLike, weights_path: PathLike) -> None:
    """Write the official format (atomically)."""
    write_model_files(model.cfg.to_model_dict(), model, model_path, weights_path)
