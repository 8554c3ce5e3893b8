"""ezkl on the same int8 MLP as `verify-zk`'s bench (docs/benchmarks.md, "verify-zk").

Builds an ONNX graph by hand from the fixture JSON -- per layer MatMul(x, Wᵀ) + Add(bias),
Div by 2^shift, Clip(-128, 127), Relu on hidden layers -- with float32 tensors holding the
integer values, and runs ezkl at input_scale = param_scale = 0 (fixed point with 0 fractional
bits: every weight, bias, input and accumulator is an integer exactly as in the int8 model;
float32 holds the accumulators, |acc| < 2^22, exactly). Weights are `fixed` (circuit
constants, as in ours), input and output public (as in ours). ezkl's division by a constant
rounds where ours floors, so a few outputs may differ by one; the script prints the
agreement.

    python3 -m venv /tmp/venv-ezkl && /tmp/venv-ezkl/bin/pip install ezkl onnx numpy
    /tmp/venv-ezkl/bin/python crates/verify/zk/ezkl/bench.py [workdir]

Not part of CI. Prints settings, setup/prove/verify times (prove and verify 3x, median) and
the proof size.
"""

import asyncio
import inspect
import json
import os
import statistics
import sys
import tempfile
import time

import ezkl
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "mlp-16-32-32-4.json")
# The same input as benches/mlp.rs.
INPUT = [3, -7, 100, -128, 127, 0, 1, -1, 42, -42, 64, -64, 5, 9, -100, 77]
REPEATS = 3


def call(f, *args, **kwargs):
    """ezkl functions are sync or async depending on the version."""
    r = f(*args, **kwargs)
    return asyncio.run(r) if inspect.isawaitable(r) else r


def infer(layers, x):
    """The int8 model's own arithmetic (floor shift), as `Mlp::infer`."""
    a = list(x)
    for k, layer in enumerate(layers):
        out = []
        for row, b in zip(layer["weights"], layer["bias"]):
            acc = b + sum(w * v for w, v in zip(row, a))
            q = max(-128, min(127, acc >> layer["shift"]))
            out.append(max(q, 0) if k + 1 < len(layers) else q)
        a = out
    return a


def build_onnx(layers, path):
    nodes, inits = [], []
    x = "input"
    lo = numpy_helper.from_array(np.array(-128.0, dtype=np.float32), "lo")
    hi = numpy_helper.from_array(np.array(127.0, dtype=np.float32), "hi")
    inits += [lo, hi]
    for k, layer in enumerate(layers):
        w = np.array(layer["weights"], dtype=np.float32).T  # n_in x n_out
        b = np.array(layer["bias"], dtype=np.float32)
        d = np.array(float(2 ** layer["shift"]), dtype=np.float32)
        inits += [
            numpy_helper.from_array(w, f"w{k}"),
            numpy_helper.from_array(b, f"b{k}"),
            numpy_helper.from_array(d, f"d{k}"),
        ]
        nodes += [
            helper.make_node("MatMul", [x, f"w{k}"], [f"mm{k}"]),
            helper.make_node("Add", [f"mm{k}", f"b{k}"], [f"acc{k}"]),
            helper.make_node("Div", [f"acc{k}", f"d{k}"], [f"q{k}"]),
            helper.make_node("Clip", [f"q{k}", "lo", "hi"], [f"c{k}"]),
        ]
        x = f"c{k}"
        if k + 1 < len(layers):
            nodes.append(helper.make_node("Relu", [x], [f"r{k}"]))
            x = f"r{k}"
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    n_in, n_out = len(layers[0]["weights"][0]), len(layers[-1]["weights"])
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, n_in])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, n_out])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def timed(f, *args, **kwargs):
    t = time.perf_counter()
    r = call(f, *args, **kwargs)
    return r, time.perf_counter() - t


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="ezkl-mlp-")
    os.makedirs(work, exist_ok=True)
    p = lambda name: os.path.join(work, name)  # noqa: E731
    with open(FIXTURE) as f:
        layers = json.load(f)["layers"]

    build_onnx(layers, p("mlp.onnx"))
    with open(p("input.json"), "w") as f:
        json.dump({"input_data": [[float(v) for v in INPUT]]}, f)
    rng = np.random.default_rng(5)
    cal = rng.integers(-128, 128, size=(20, len(INPUT))).astype(float)
    with open(p("calibration.json"), "w") as f:
        json.dump({"input_data": [cal.flatten().tolist()]}, f)

    args = ezkl.PyRunArgs()
    args.input_scale = 0
    args.param_scale = 0
    args.input_visibility = "public"
    args.output_visibility = "public"
    args.param_visibility = "fixed"
    assert call(ezkl.gen_settings, p("mlp.onnx"), p("settings.json"), py_run_args=args)
    # Fix the scale at 0 and let ezkl size the lookup tables and logrows for this model.
    call(
        ezkl.calibrate_settings,
        p("input.json"),
        p("mlp.onnx"),
        p("settings.json"),
        "resources",
        scales=[0],
    )
    with open(p("settings.json")) as f:
        settings = json.load(f)
    run_args = settings["run_args"]
    logrows = run_args["logrows"]
    print(
        f"ezkl {ezkl.__version__}: logrows {logrows}, input_scale {run_args['input_scale']}, "
        f"param_scale {run_args['param_scale']}, lookup_range {run_args.get('lookup_range')}, "
        f"num_rows {settings.get('num_rows')}, total_assignments "
        f"{settings.get('total_assignments')}"
    )

    assert call(ezkl.compile_circuit, p("mlp.onnx"), p("mlp.ezkl"), p("settings.json"))
    _, t_srs = timed(ezkl.gen_srs, p("kzg.srs"), logrows)
    _, t_setup = timed(ezkl.setup, p("mlp.ezkl"), p("vk.key"), p("pk.key"), p("kzg.srs"))
    witness, t_witness = timed(ezkl.gen_witness, p("input.json"), p("mlp.ezkl"), p("witness.json"))

    outputs = witness["outputs"][0] if isinstance(witness, dict) else None
    ours = infer(layers, INPUT)
    if outputs is not None:
        scale = run_args.get("output_scale", 0)
        theirs = [
            round(call(ezkl.felt_to_float, v, 0)) if hasattr(ezkl, "felt_to_float") else v
            for v in outputs
        ]
        print(f"output: ezkl {theirs}, int8 model {ours} (output scale {scale})")

    prove_times, verify_times = [], []
    for _ in range(REPEATS):
        _, t = timed(ezkl.prove, p("witness.json"), p("mlp.ezkl"), p("pk.key"), p("proof.json"), p("kzg.srs"))
        prove_times.append(t)
        ok, t = timed(ezkl.verify, p("proof.json"), p("settings.json"), p("vk.key"), p("kzg.srs"))
        assert ok
        verify_times.append(t)
    with open(p("proof.json")) as f:
        proof = json.load(f)
    raw = proof.get("proof")
    raw_len = len(bytes.fromhex(raw.removeprefix("0x"))) if isinstance(raw, str) else len(raw or [])
    print(f"gen_srs {t_srs:.2f} s, setup {t_setup:.2f} s, gen_witness {t_witness:.3f} s")
    print(f"prove: {', '.join(f'{t:.2f}' for t in prove_times)} s, median {statistics.median(prove_times):.2f} s")
    print(f"verify: {', '.join(f'{t*1000:.1f}' for t in verify_times)} ms, median {statistics.median(verify_times)*1000:.1f} ms")
    print(
        f"proof: {raw_len} bytes (proof.json {os.path.getsize(p('proof.json'))} bytes), "
        f"vk.key {os.path.getsize(p('vk.key'))} bytes, pk.key {os.path.getsize(p('pk.key'))} bytes"
    )


if __name__ == "__main__":
    main()
