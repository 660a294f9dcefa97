"""The clear model's DANNet-format checkpoint (kind dannet_segmenter, no relight) as a plain
erf_pspnet segmenter checkpoint, so train-segmenter's init_checkpoint accepts it (it refuses the
dannet_segmenter kind). Inner segmenter weights only: the export's class re-weighting
(w = 0.92-1.10) is not carried over. Run as `PYTHONPATH=. python docs/condition_drive/unwrap_clear.py`."""
from training.engine import checkpoint as ckpt

SRC = "/work/wt/exp-dannet/runs/experiment-dannet_synth-64x128/source_only/seed0/checkpoints/step_00000250"
specs, meta, step = ckpt.read_metadata(SRC)
net = ckpt.load_modules(SRC, ["model"])["model"]
inner = specs["model"].config
spec = ckpt.ModuleSpec(inner["segmenter_kind"], inner["segmenter_kwargs"])
KEYS = ("task", "num_classes", "class_names", "ignore_index", "mean", "std", "input_size")
keep = {k: meta[k] for k in KEYS}
print(ckpt.save_checkpoint("runs/conddrive/clear_plain/checkpoints", step, {"model": (spec, net.segmenter)},
                           keep=1, extra_meta=keep))
