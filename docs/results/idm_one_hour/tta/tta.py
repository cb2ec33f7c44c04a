# Test-time augmentation probe (session 37): does averaging the IDM over shifted or recoloured
# copies of each held-out video (beyond --mirror) raise its camera R²? Usage, from the repository root:
#   OMP_NUM_THREADS=1 .venv/bin/python docs/results/idm_one_hour/tta/tta.py models/idm_g2.model \
#     models/idm_g2.weights runs/g2x/data_x/b-seed5000 runs/g2x/frames   (~15 min on one core)
# Columns printed per combination: keypress, camera R², posterior-mean R², world camera R²,
# screen camera R² (all with the posterior-mean camera bin, as --camera mean labels).
import sys

import numpy as np
import torch

from vpt import actions
from vpt.data import list_recordings, DatasetReport
from vpt.idm import load_idm
from vpt.idm.metrics import load_segments, scores, FramePredictions
from vpt.idm.predict import _logprobs, IDMPrediction
torch.set_num_threads(1)
model, weights, data, cache = sys.argv[1:5]
idm = load_idm(model, weights); idm.eval(); idm.optimize_for_inference(channels_last=True)
refs = list_recordings(data, require_jsonl=True)[-16:]
segs = load_segments(refs, report=DatasetReport(), cache=cache)
def shift(fr, dy, dx):
    p = max(abs(dy), abs(dx))
    q = np.pad(fr, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")
    return q[:, p - dy : p - dy + fr.shape[1], p - dx : p - dx + fr.shape[2]]
def gain(fr, g):
    return np.clip(fr.astype(np.float32) * g, 0, 255).astype(np.uint8)
variants = {"id": lambda f: f, "s+x": lambda f: shift(f, 0, 2), "s-x": lambda f: shift(f, 0, -2),
            "s+y": lambda f: shift(f, 2, 0), "s-y": lambda f: shift(f, -2, 0), "g0.85": lambda f: gain(f, 0.85), "g1.15": lambda f: gain(f, 1.15)}
lp = {}  # (variant, mirrored) -> list of (buttons, camera) per segment
with torch.inference_mode():
    for name, fn in variants.items():
        for mir in (False, True):
            out = []
            for s in segs:
                x = torch.as_tensor(np.ascontiguousarray(fn(s.frames)))
                if mir: x = x.flip(2)
                b, c = _logprobs(idm, x, idm.cfg.window, None, False, 8, 32)
                if mir:
                    c[:, 1] = c[:, 1].flip(-1); b = b[:, actions.MIRRORED_BUTTONS]
                out.append((b, c))
            lp[(name, mir)] = out
            print("done", name, mir, flush=True)
def combo(keys):
    preds = []
    for i, s in enumerate(segs):
        b = sum(lp[k][i][0] for k in keys) / len(keys); c = sum(lp[k][i][1] for k in keys) / len(keys)
        preds.append(IDMPrediction(torch.log_softmax(b, -1).numpy(), torch.log_softmax(c, -1).numpy(), camera="mean"))
    cat = np.concatenate
    p = FramePredictions(true_buttons=cat([s.buttons for s in segs]), pred_buttons=cat([q.factored_buttons for q in preds]),
        true_bins=cat([s.camera_bins for s in segs]), pred_bins=cat([q.camera_bins for q in preds]),
        degrees=cat([s.camera_degrees for s in segs]), gui_open=cat([s.gui_open for s in segs]),
        pred_mean_degrees=cat([q.camera_mean_degrees for q in preds]))
    m = scores(p, prefix="eval")
    return m["eval/keypress_accuracy"], m["eval/camera_r2"], m["eval/camera_r2_mean"], m["eval_world/camera_r2"], m["eval_gui/camera_r2"]
S = ["s+x", "s-x", "s+y", "s-y"]; G = ["g0.85", "g1.15"]
combos = {"plain": [("id", False)], "mirror": [("id", False), ("id", True)],
          "shifts": [("id", False)] + [(v, False) for v in S],
          "mirror+shifts": [(v, m) for v in ["id"] + S for m in (False, True)],
          "mirror+gains": [(v, m) for v in ["id"] + G for m in (False, True)],
          "mirror+all": [(v, m) for v in variants for m in (False, True)]}
for n, k in combos.items():
    print(n, " ".join(f"{v:.4f}" for v in combo(k)), flush=True)
