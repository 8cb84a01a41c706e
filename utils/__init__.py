"""Helpers for the course *LSTM in PyTorch, every knowledge point*.

One module per concern, each small enough to read:

- ``models``         the classic LSTM regressor, and ``ScratchLSTMCell``/``ScratchLSTM``:
                     ``nn.LSTMCell``/``nn.LSTM`` in plain tensor operations, proven equal
- ``states``         initial states: shapes, zeros that match the input, a learned state (03)
- ``initialisation`` named initialisation schemes and gate-saturation statistics (04)
- ``sequences``      summaries of padded batches: gather by length, packing, pooling (05)
- ``losses``         regression losses written out, refusing shapes that would broadcast (06)
- ``optim``          Adam and AdamW written out (07)
- ``training``       seeding, device choice, an environment report, the ``fit`` loop
- ``data``           the shipped datasets, sliding windows, splits, scalers, synthetic tasks
- ``forecast``       baselines (naive, seasonal naive, seasonal ARIMA) and error metrics (08)
- ``memory``         comparable recurrent models, per-step input gradients, gates (09)
- ``text``           text as ids: ``CharVocab`` (optional special tokens), the stream batch
                     layout, temperature/top-k sampling, the tiny Shakespeare corpus (10-13)
- ``language_model`` the character LSTM, truncated-BPTT state detaching, nats per character,
                     n-gram count baselines (10)
- ``corpora``        the names-by-language and sentiment corpora, checked; honest splits (11)
- ``words``          word tokens and a ``WordVocab`` with ``<pad>``/``<unk>`` (11)
- ``classifier``     the packed sequence classifier and its training loop (11)
- ``tagging``        word segmentation data (end and B/M/E/S tags), the per-step ``Tagger``,
                     ``LinearChainCRF`` with brute-force references, boundary F1 (12)
- ``dates``          date normalisation data in many formats, English and Chinese (13)
- ``seq2seq``        encoder-decoder with Luong attention, greedy and beam search (13)
- ``speed``          loop variants of the LSTM, the backward pass written out, benchmarks (14)
- ``deploy``         inference wrapper, torch.export and ONNX export, streaming, int8 (15)
- ``distributed``    the DDP training script run by torchrun, and its launcher (16)
- ``viz``            plots and the drawn LSTM cell
- ``widgets``        one explorer per notebook, testable without a browser
- ``checks``         exercise checkers with friendly feedback, one module per notebook
- ``curriculum``     the registry of knowledge points, budgets, the proof-cell test
- ``proofs``         what counts as a proof: the static check and the memory guard

Whatever *is* the lesson stays visible in the notebooks; these helpers hold what
repeats across notebooks or would distract from it.
"""

__version__ = "0.1.0"
