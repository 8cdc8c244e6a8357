"""Data-parallel training: `torchrun --nproc_per_node=2` on the CPU (gloo) matches one process."""

import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = '''
import sys, torch
from genlearn import distributed, seed_everything
from genlearn.data import load_digits
from genlearn.models import AE, ae_loss
from genlearn.train import fit

torch.set_num_threads(1)
seed_everything(0)
model = AE((1, 8, 8), latent_dim=4, hidden=(32,))
history = fit(model, ae_loss, load_digits("train").x[:400], epochs=3, batch_size=100, lr=1e-2, seed=3,
              progress=False, device="cpu")
if distributed.is_main_process():
    torch.save({"state": model.state_dict(), "loss": history["loss"], "world": distributed.world_size()},
               sys.argv[1])
distributed.finish()  # every rank leaves together
'''


def _run(cmd, tmp_path):
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    script = tmp_path / "train_ae.py"
    script.write_text(SCRIPT)
    _run([sys.executable, str(script), str(tmp_path / "one.pt")], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", str(script),
          str(tmp_path / "two.pt")], tmp_path)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    assert one["world"] == 1 and two["world"] == 2
    for name, value in one["state"].items():
        assert torch.allclose(value, two["state"][name], atol=1e-5, rtol=0), name
    # the history is the mean over both processes: the same epoch losses
    assert torch.allclose(torch.tensor(one["loss"]), torch.tensor(two["loss"]), rtol=1e-5)


def test_genlearn_train_runs_under_torchrun_and_only_rank_0_writes(tmp_path):
    out_dir = tmp_path / "run"
    out = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "genlearn", "train",
                "vae", "--epochs", "2", "--out", str(out_dir), "--quiet"], tmp_path)
    assert out.stdout.count("wrote checkpoint") == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ["losses.png", "metrics.json", "model.pt", "samples.png"]


def test_barrier_and_finish_are_no_ops_in_one_process():
    from genlearn import distributed

    assert not distributed.is_initialized()
    distributed.barrier()
    distributed.finish()
    assert distributed.world_size() == 1 and distributed.is_main_process()
