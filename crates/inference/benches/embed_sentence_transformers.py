#!/usr/bin/env python3
"""sentence-transformers (PyTorch, CPU) embeddings per second at batch sizes 1, 8 and 32, on the
texts of benches/sentences.txt: the reference side of `cargo bench -p inference --bench embed`.

    /tmp/venv-fixtures/bin/python crates/inference/benches/embed_sentence_transformers.py \
        ~/.cache/symbiont/models/all-minilm-l6-v2 [seconds per batch size, default 10]

Each batch size is warmed up, then timed for at least the given seconds; the figure is texts
embedded per second of wall time (torch uses all cores, as candle does).
"""

import pathlib
import sys
import time


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(sys.argv[1], device="cpu")
    sentences = pathlib.Path(__file__).with_name("sentences.txt").read_text().splitlines()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for batch in (1, 8, 32):
        texts = [sentences[i % len(sentences)] for i in range(batch)]
        with torch.inference_mode():
            for _ in range(3):
                model.encode(texts, batch_size=batch)
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                model.encode(texts, batch_size=batch)
                n += 1
            elapsed = time.perf_counter() - start
        per_call = elapsed / n
        print(f"batch {batch:>2}: {per_call * 1e3:8.2f} ms per call, {batch / per_call:8.1f} embeddings/s ({n} calls)")


if __name__ == "__main__":
    main()
