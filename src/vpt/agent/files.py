"""Reading and writing the official VPT model files without executing code from them.

* ``.model``: a pickle of plain dicts (vpt.md §6.1). Read with ``SafeUnpickler``, which builds
  only plain containers and scalars and refuses any other global by name before anything runs.
* ``.weights``: ``torch.save`` of the state dict (§6.2), read with ``torch.load(weights_only=True)``.
* Keys are matched strictly (the reference silently uses ``strict=False``): a mismatch raises
  ``StateDictMismatchError`` listing missing, unexpected and wrong-shaped tensors.
* ``save_policy`` writes the same two files; ``export_safetensors`` writes ``.safetensors`` +
  a JSON config, read back by ``load_policy_safetensors``.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vpt.agent.policy import ModelConfigError, PolicyConfig, VPTPolicy
from vpt.atomic import atomic_open

PathLike = str | os.PathLike[str]

_ALLOWED_GLOBALS = {("collections", "OrderedDict"): OrderedDict}
_PLAIN_TYPES = (dict, OrderedDict, list, tuple, str, int, float, bool, type(None))


class ModelFileError(ValueError):
    """A model or weights file is unreadable or does not have the expected layout."""


class UnsafeModelFileError(ModelFileError, pickle.UnpicklingError):
    """A model file asked for something other than plain containers and scalars (or tensors)."""


class StateDictMismatchError(ModelFileError):
    """The weights do not fit the architecture; ``report`` says how."""

    def __init__(self, report: StateDictReport, where: str) -> None:
        self.report = report
        super().__init__(f"{where}: weights do not match the architecture:\n{report.describe()}")


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that builds only dict/list/tuple/str/int/float/bool/None (and OrderedDict).

    Every global lookup other than ``collections.OrderedDict`` raises ``UnsafeModelFileError``
    naming the global, so no callable from the file is ever resolved, let alone called.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeModelFileError(
                f"refused global {module}.{name}: a .model file may only contain plain dicts, lists, "
                "tuples, strings, numbers, booleans and None"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeModelFileError(f"refused persistent id {pid!r}: not allowed in a .model file")


def _check_plain(obj: Any, where: str) -> None:
    if not isinstance(obj, _PLAIN_TYPES):
        raise UnsafeModelFileError(f"{where}: unexpected object of type {type(obj).__name__}")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, f"{where}[key]")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")


def safe_unpickle(data: bytes, where: str = "<bytes>") -> Any:
    """Unpickle ``data`` allowing only plain containers and scalars.

    Raises:
        UnsafeModelFileError: the pickle references a global (class, function) or other object;
            the message names it and ``where``.
        ModelFileError: the data is not a valid pickle.
    """
    try:
        obj = SafeUnpickler(io.BytesIO(data)).load()
    except UnsafeModelFileError as e:
        raise UnsafeModelFileError(f"{where}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
        raise ModelFileError(f"{where}: not a valid pickle ({type(e).__name__}: {e})") from None
    _check_plain(obj, where)
    return obj


def read_model_kwargs(path: PathLike) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """Read a ``.model`` file safely: ``(model.args.net.args, model.args.pi_head_opts)``.

    Other keys (``version``, ``function`` strings, ``local_args`` ...) are ignored.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read model file ({e.strerror or e})") from None
    obj = safe_unpickle(data, str(path))
    try:
        args = obj["model"]["args"]
        net_kwargs = args["net"]["args"]
    except (KeyError, TypeError, IndexError):
        raise ModelFileError(f"{path}: expected a dict with model.args.net.args (the network kwargs)") from None
    if not isinstance(net_kwargs, Mapping):
        raise ModelFileError(f"{path}: model.args.net.args must be a dict, got {type(net_kwargs).__name__}")
    pi_head_opts = args.get("pi_head_opts") if isinstance(args, Mapping) else None
    if pi_head_opts is not None and not isinstance(pi_head_opts, Mapping):
        raise ModelFileError(f"{path}: model.args.pi_head_opts must be a dict")
    return net_kwargs, pi_head_opts


def read_model_file(path: PathLike) -> PolicyConfig:
    """Read a policy ``.model`` file safely and validate its kwargs (see ``read_model_kwargs``)."""
    net_kwargs, pi_head_opts = read_model_kwargs(path)
    try:
        return PolicyConfig.from_kwargs(net_kwargs, pi_head_opts)
    except ModelConfigError as e:
        raise ModelConfigError(f"{path}: {e}") from None


def read_weights_file(path: PathLike, map_location: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Read a ``.weights`` state dict with ``torch.load(weights_only=True)``."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: weights file not found")
    try:
        sd = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # Keep torch's diagnosis, drop its advice to retry with weights_only=False.
        skip = ("Weights only load failed", "Please file an issue", "Check the documentation")
        parts = [p.strip() for p in str(e).split("\n\n") if p.strip() and not p.strip().startswith(skip)]
        detail = " ".join(parts).replace("WeightsUnpickler error:", "").strip() or "unsupported content"
        raise UnsafeModelFileError(
            f"{path}: refused by torch.load(weights_only=True): not a plain tensor state dict ({detail})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not a torch weights file ({type(e).__name__}: {e})") from None
    if not isinstance(sd, Mapping):
        raise ModelFileError(f"{path}: expected a state dict (mapping), got {type(sd).__name__}")
    bad = [k for k, v in sd.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ModelFileError(f"{path}: state dict entries that are not str -> tensor: {bad[:5]}")
    return dict(sd)


@dataclass
class StateDictReport:
    """How a state dict compares with a module's own."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong_shape: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    """(key, expected shape, shape in the file)."""

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_shape)

    def describe(self, limit: int = 20) -> str:
        """Readable multi-line summary (first ``limit`` entries of each kind)."""
        if self.ok:
            return "all keys and shapes match"
        lines: list[str] = []

        def section(title: str, items: list[str]) -> None:
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {s}" for s in items[:limit])
                if len(items) > limit:
                    lines.append(f"    ... and {len(items) - limit} more")

        section("missing from the file", self.missing)
        section("unexpected in the file", self.unexpected)
        section(
            "wrong shape (expected vs file)",
            [f"{k}: {list(a)} vs {list(b)}" for k, a, b in self.wrong_shape],
        )
        return "\n".join(lines)


def compare_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> StateDictReport:
    """Compare ``state_dict`` with ``module.state_dict()`` by key and shape (no copying)."""
    own = module.state_dict()
    report = StateDictReport(
        missing=[k for k in own if k not in state_dict],
        unexpected=[k for k in state_dict if k not in own],
    )
    for k, v in own.items():
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape):
            report.wrong_shape.append((k, tuple(v.shape), tuple(state_dict[k].shape)))
    return report


def load_state_dict_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], where: str) -> None:
    """``load_state_dict`` after a strict key/shape check with a readable error."""
    report = compare_state_dict(module, state_dict)
    if not report.ok:
        raise StateDictMismatchError(report, where)
    module.load_state_dict(state_dict, strict=True)


def load_policy(
    model_path: PathLike,
    weights_path: PathLike,
    device: torch.device | str = "cpu",
    *,
    reference_first_handling: bool = False,
) -> VPTPolicy:
    """Load an official ``.model`` + ``.weights`` pair into a ``VPTPolicy`` (eval mode).

    Args:
        model_path: the ``.model`` pickle (read without executing code).
        weights_path: the ``.weights`` state dict.
        device: where to put the policy.
        reference_first_handling: see ``VPTPolicy``.

    Raises:
        UnsafeModelFileError, ModelFileError, ModelConfigError, StateDictMismatchError.
    """
    cfg = read_model_file(model_path)
    state_dict = read_weights_file(weights_path)
    policy = VPTPolicy(cfg, reference_first_handling=reference_first_handling)
    load_state_dict_strict(policy, state_dict, str(weights_path))
    return policy.to(device).eval()


def contiguous_cpu_state_dict(module: nn.Module) -> OrderedDict[str, torch.Tensor]:
    return OrderedDict((k, v.detach().to("cpu").contiguous()) for k, v in module.state_dict().items())


def write_model_files(payload: dict[str, Any], module: nn.Module, model_path: PathLike, weights_path: PathLike) -> None:
    """Write the official pair, each file atomically: ``.model`` (pickle of the plain dicts in
    ``payload``) and ``.weights`` (``module``'s state dict, on the CPU)."""
    with atomic_open(model_path, "wb") as f:
        pickle.dump(payload, f, protocol=4)
    with atomic_open(weights_path, "wb") as f:
        torch.save(contiguous_cpu_state_dict(module), f)


def save_policy(policy: VPTPolicy, model_path: PathLike, weights_path: PathLike) -> None:
    """Write the official format: ``.model`` (pickle of plain dicts) and ``.weights`` (state dict)."""
    write_model_files(policy.cfg.to_model_dict(), policy, model_path, weights_path)


def export_safetensors(policy: VPTPolicy, safetensors_path: PathLike, config_path: PathLike | None = None) -> Path:
    """Write the weights as safetensors and the ``.model`` payload as JSON.

    Returns the config path (default: the safetensors path with suffix ``.json``).
    """
    from safetensors.torch import save_file

    st_path = Path(safetensors_path)
    cfg_path = Path(config_path) if config_path is not None else st_path.with_suffix(".json")
    save_file(dict(contiguous_cpu_state_dict(policy)), str(st_path), metadata={"format": "pt", "vpt": "policy"})
    cfg_path.write_text(json.dumps(policy.cfg.to_model_dict(), indent=1) + "\n")
    return cfg_path


def load_policy_safetensors(
    safetensors_path: PathLike,
    config_path: PathLike | None = None,
    device: torch.device | str = "cpu",
    *,
    reference_first_handling: bool = False,
) -> VPTPolicy:
    """Load a policy written by ``export_safetensors``."""
    from safetensors.torch import load_file

    st_path = Path(safetensors_path)
    cfg_path = Path(config_path) if config_path is not None else st_path.with_suffix(".json")
    try:
        obj = json.loads(cfg_path.read_text())
        args = obj["model"]["args"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ModelFileError(f"{cfg_path}: not a policy config JSON ({type(e).__name__}: {e})") from None
    cfg = PolicyConfig.from_kwargs(args["net"]["args"], args.get("pi_head_opts"))
    policy = VPTPolicy(cfg, reference_first_handling=reference_first_handling)
    load_state_dict_strict(policy, load_file(str(st_path)), str(st_path))
    return policy.to(device).eval()
