"""A seconds-long smoke run of `python -m benchmarks.lstm_lm` (tiny shape, 2 steps).

torch is a benchmark-only dependency: without it the torch column is skipped.
"""

import importlib.util
import json

from benchmarks import lstm_lm


def test_benchmark_cli_runs_every_implementation_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    impls = "rnnlab,rnnlab-unroll2-remat3,rnnlab-cudnn,flax,torch"
    argv = ["--shapes=", "--shape=50,8,8,2,2,5", "--steps=2", "--warmup=0", f"--impls={impls}"]
    report = lstm_lm.main([*argv, "--quick", f"--out={out}"])
    assert json.loads(out.read_text())["env"] == report["env"]
    (result,) = report["results"]
    rows = {row["impl"]: row for row in result["rows"]}
    expected = {"rnnlab", "rnnlab-unroll2-remat3", "flax"}
    if importlib.util.find_spec("torch") is not None:
        expected.add("torch")
        assert rows["rnnlab"]["x_torch"] > 0
    for name in expected:
        assert rows[name]["tokens_per_s"] > 0 and len(rows[name]["times_s"]) == 2
    if report["env"]["backend"] != "gpu":
        assert "needs a CUDA GPU" in rows["rnnlab-cudnn"]["error"]
