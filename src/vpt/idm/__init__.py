"""The inverse dynamics model: weight-compatible with OpenAI's 4x IDM, trainable, and able to
label videos at scale (overlapping windows over cached image features)."""

from vpt.idm.files import load_idm, read_idm_model_file, save_idm
from vpt.idm.model import IDMConfig, IDMOutput, InverseDynamicsModel
from vpt.idm.predict import IDMPrediction, predict

__all__ = [
    "IDMConfig",
    "IDMOutput",
    "IDMPrediction",
    "InverseDynamicsModel",
    "load_idm",
    "predict",
    "read_idm_model_file",
    "save_idm",
]
