"""Hostile pretrained-weight files: loaders of HF SegFormer folders and torchvision .pth files run no
code from them and say in one line what is wrong (SegFormer/DeepLabV3 init_from, import-checkpoint)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from training.commands import import_checkpoint
from training.models.deeplabv3 import DeepLabV3
from training.models.segformer import SegFormer

TINY = {"hidden_sizes": [8, 16, 40, 64], "depths": [1, 1, 1, 1], "decoder_hidden_size": 16}


class WritesMarker:
    """Unpickling this creates `path`: proof that loading executed code from the file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def hf_config_folder(folder: Path) -> Path:
    from transformers import SegformerConfig

    SegformerConfig(**TINY, num_labels=19).save_pretrained(folder)
    return folder


def run_import(kind: str, path: Path, out: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    rc = import_checkpoint.main(["--from", kind, str(path), "--out", str(out)])
    return rc, capsys.readouterr().err


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_hf_folder_with_a_pickled_pytorch_model_bin_is_refused(tmp_path, capsys):
    folder = hf_config_folder(tmp_path / "hf")
    marker = tmp_path / "marker"
    with open(folder / "pytorch_model.bin", "wb") as f:
        pickle.dump({"segformer.encoder.x": WritesMarker(marker)}, f)
    with pytest.raises(ValueError, match="no model.safetensors") as info:
        SegFormer(variant="b0", num_classes=19, init_from=str(folder), **TINY)
    one_line(str(info.value))
    rc, err = run_import("hf-segformer", folder, tmp_path / "out", capsys)
    assert rc == 1 and "pytorch_model.bin" in one_line(err)
    assert not marker.exists()


def test_hf_folder_with_a_harmless_pytorch_model_bin_is_refused_too(tmp_path):
    # Not by content: transformers would load this one, but a .bin is a pickle whatever it holds.
    from transformers import SegformerForSemanticSegmentation

    from training.models.segformer import segformer_config

    folder = hf_config_folder(tmp_path / "hf")
    state = SegformerForSemanticSegmentation(segformer_config("b0", 19, **TINY)).state_dict()
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match="pickled weights can run code"):
        SegFormer(variant="b0", num_classes=19, init_from=str(folder), **TINY)


def test_pth_that_is_a_malicious_pickle_is_refused(tmp_path, capsys):
    marker = tmp_path / "marker"
    pth = tmp_path / "deeplabv3_resnet50_coco.pth"
    torch.save({"backbone.conv1.weight": torch.zeros(4, 3, 7, 7), "payload": WritesMarker(marker)}, pth)
    with pytest.raises(ValueError, match="refused") as info:
        DeepLabV3(num_classes=21, base_width=4, aspp_channels=8, init_from=str(pth))
    assert str(pth) in one_line(str(info.value))
    rc, err = run_import("torchvision-deeplabv3", pth, tmp_path / "out", capsys)
    assert rc == 1 and "refused" in one_line(err)
    assert not marker.exists()


def test_pth_of_another_network_is_one_clear_line(tmp_path, capsys):
    pth = tmp_path / "resnet_something.pth"
    g = torch.Generator().manual_seed(0)
    torch.save({f"encoder.block{i}.weight": torch.randn(3, 3, generator=g) for i in range(4)}, pth)
    with pytest.raises(ValueError, match="unexpected key") as info:
        DeepLabV3(num_classes=21, base_width=4, aspp_channels=8, init_from=str(pth))
    one_line(str(info.value))
    rc, err = run_import("torchvision-deeplabv3", pth, tmp_path / "out", capsys)
    line = one_line(err)
    assert rc == 1 and str(pth) in line and "not a torchvision DeepLabV3 state dict" in line
    assert not (tmp_path / "out").exists()


def test_pth_of_random_bytes_is_one_clear_line(tmp_path, capsys):
    pth = tmp_path / "weights.pth"
    pth.write_bytes(bytes(range(256)) * 8)
    rc, err = run_import("torchvision-deeplabv3", pth, tmp_path / "out", capsys)
    assert rc == 1 and "not a PyTorch weights file" in one_line(err)
