# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · The whole picture
#
# Almost every LSTM tutorial in PyTorch starts from the same 30 lines: a 2-layer `nn.LSTM`, a
# linear head on the last time step, `MSELoss` and `Adam`, one training step. This notebook runs
# those lines end to end, maps each line to the notebook that explains it in depth, and corrects
# four claims that widely copied explanations of this example get wrong, each with a proof that
# runs against the PyTorch installed here.
#
# **You will learn**
#
# - **KP 00.1** the classic example runs one training step with the shapes it promises;
# - **KP 00.2** PyTorch's real default initialisation of `nn.LSTM` and `nn.Linear` (not Xavier);
# - **KP 00.3** what `MSELoss` divides by;
# - **KP 00.4** that omitted `(h0, c0)` are exactly zeros;
# - **KP 00.5** what `out[:, -1]` holds, and where it is not the summary you want;
# - **KP 00.6** that one Adam step lowers the loss on its batch.
#
# **Run time:** about 4 s on a 2-core laptop-class CPU; the last cell prints the measured time and
# peak memory of the run whose outputs you see, and the README's table lists every notebook's.
#
# Every claim below has a **proof cell** (its first line reads `# KP 00.x`): an `assert` that would
# fail if the claim were wrong.

# %%
import math
import time
import warnings

notebook_started = time.perf_counter()

import torch
from torch import nn

from utils.checks import nb00
from utils.models import LSTMRegressor
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.widgets.pipeline import pipeline_explorer

set_seed(0)
device = pick_device()
print(env_report(device))

# %% [markdown]
# ## 1. The classic example
#
# A regression model reads a sequence of feature vectors and predicts one number per sequence.
# The LSTM turns each sequence of 5 steps into 5 hidden vectors; the linear head reads only the
# last one.

# %%
class LSTMModel(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # The popular version omits device=x.device and breaks on a GPU (see notebook 03).
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size, device=x.device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size, device=x.device)
        out, _ = self.lstm(x, (h0, c0))   # out: (batch, seq_len, hidden_size)
        out = self.fc(out[:, -1, :])      # the last time step -> (batch, output_size)
        return out

# %%
input_size, hidden_size, num_layers, output_size = 10, 20, 2, 1
batch_size, seq_len = 16, 5

model = LSTMModel(input_size, hidden_size, num_layers, output_size).to(device)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

x = torch.randn(batch_size, seq_len, input_size, device=device)
y = torch.randn(batch_size, output_size, device=device)

# %% [markdown]
# One forward pass. The shapes printed here are the lesson, so the test suite checks them
# character for character.

# %%
# NBVAL_CHECK_OUTPUT
out, (h_n, c_n) = model.lstm(x)
prediction = model(x)
print("x          ", tuple(x.shape), "  (batch, seq_len, input_size)")
print("out        ", tuple(out.shape), "  (batch, seq_len, hidden_size)")
print("h_n, c_n   ", tuple(h_n.shape), "  (num_layers, batch, hidden_size)")
print("prediction ", tuple(prediction.shape), "  (batch, output_size)")

# %% [markdown]
# One training step: clear the old gradients, compute the loss, back-propagate, update.

# %%
loss = criterion(prediction, y)
optimizer.zero_grad()
loss.backward()
optimizer.step()
with torch.no_grad():
    loss_after = criterion(model(x), y)
print(f"loss before the step {loss.item():.6f}, after {loss_after.item():.6f}")

# %%
# KP 00.1
assert out.shape == (batch_size, seq_len, hidden_size)
assert h_n.shape == c_n.shape == (num_layers, batch_size, hidden_size)
assert prediction.shape == y.shape == (batch_size, output_size)
assert loss.shape == ()  # one number: the mean over all elements
assert all(p.grad is not None for p in model.parameters())

# %%
# KP 00.6
assert loss_after < loss, "one Adam step should lower the loss on the batch it saw"

# %% [markdown]
# The course's helper `utils.models.LSTMRegressor` is the same model (it lets `nn.LSTM` make the
# zero states, see KP 00.4) and checks its input. It gives the same prediction once it holds the
# same weights, since only the names of the head differ (`fc` versus `head`):

# %%
regressor = LSTMRegressor(input_size, hidden_size, num_layers, output_size).to(device)
state = {k.replace("fc.", "head."): v for k, v in model.state_dict().items()}
regressor.load_state_dict(state)
torch.testing.assert_close(regressor(x), model(x), rtol=0, atol=0)

# %% [markdown]
# ### Try it: move the sizes
#
# Each slider re-runs the classic forward pass. Try: change `seq_len` and see that the prediction's
# shape does not move (the head reads only the last step); change `num_layers` and see which
# tensors grow.

# %%
pipeline_explorer()

# %% [markdown]
# ## 2. The map of the course
#
# Each line of the classic example, and where the course takes it apart.
#
# | line of the classic example | what to ask | notebook |
# | --- | --- | --- |
# | `class LSTMModel(nn.Module)`, `super().__init__()` | how a module registers its parameters | [01 Model definition](01_model_definition.ipynb) |
# | `nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)` | every argument; the gate equations; the weight layout | [01 Model definition](01_model_definition.ipynb) |
# | `x = torch.randn(16, 5, 10)` | `(batch, seq, feature)` versus `(seq, batch, feature)`; every output shape | [02 Tensor shapes](02_tensor_shapes.ipynb) |
# | `h0 = torch.zeros(...)`, `c0 = ...` | are they needed; carried states; `detach()` | [03 State initialisation](03_state_initialisation.ipynb) |
# | (hidden) `nn.LSTM`'s weights before training | the real default initialisation; better schemes | [04 Parameter initialisation](04_parameter_initialisation.ipynb) |
# | `out[:, -1, :]` | when it is `h_n[-1]`; bidirectional and padded batches | [05 Last-step output](05_last_step_output.ipynb) |
# | `nn.MSELoss()` | what it divides by; the broadcasting trap; its gradient | [06 MSE loss](06_mse_loss.ipynb) |
# | `optimizer.zero_grad(); loss.backward(); optimizer.step()` | Adam written out; AdamW; clipping | [07 Adam and the training step](07_adam_training_step.ipynb) |
# | random `x` and `y` | a real series, honest baselines | [08 Training on real data](08_training_on_real_data.ipynb) |
# | why an LSTM at all | the vanishing gradient; the adding problem | [09 Why LSTM: long memory](09_why_lstm_long_memory.ipynb) |
#
# After the classic example, the course goes on in five parts; the README's table gives each
# part's measured run time.
#
# | part | notebooks | what it answers |
# | --- | --- | --- |
# | I · The classic example | [00](00_the_whole_picture.ipynb) to [07](07_adam_training_step.ipynb) | every line of the example above |
# | II · Practice | [08](08_training_on_real_data.ipynb), [09](09_why_lstm_long_memory.ipynb) | a real series against honest baselines; why an LSTM at all |
# | III · Text | [10](10_character_language_model.ipynb) to [13](13_sequence_to_sequence.ipynb) | characters, whole-sequence classes, a tag per step, a sequence out |
# | IV · Engineering | [14](14_speed.ipynb) to [16](16_many_processes.ipynb) | speed, export and deployment, training on many processes |
# | V · Beyond | [17](17_regularisation.ipynb) to [19](19_relatives_and_successors.ipynb) | regularisation, forecasting in depth, the GRU, xLSTM and the Transformer |

# %% [markdown]
# ## 3. Four popular claims, corrected
#
# | popular claim | what the installed PyTorch does | proof |
# | --- | --- | --- |
# | "PyTorch initialises LSTM weights with Xavier" | every LSTM weight and bias is drawn from U(-1/√H, +1/√H); `nn.Linear` uses `kaiming_uniform_(a=√5)`, i.e. U(±1/√fan_in) | KP 00.2 below, in full in 04 |
# | "MSE divides by the number of samples" | `reduction='mean'` divides by the number of **elements**, batch × outputs | KP 00.3 below, in full in 06 |
# | "you must create h0/c0 zeros yourself" | omitted states are zeros; explicit zeros give bit-identical results | KP 00.4 below, in full in 03 |
# | "the last output step holds all the information" | it is a summary; with padding it reads padding; for a bidirectional LSTM its backward half has seen one step | KP 00.5 below, in full in 05 |
#
# ### 3.1 Initialisation: uniform in ±1/√H, not Xavier
#
# `nn.LSTM.reset_parameters` draws *every* parameter (weights and both biases) from
# U(-k, k) with k = 1/√hidden_size. The proof re-seeds the generator and redraws each parameter,
# in registration order, from that distribution: the values are equal bit for bit.

# %%
def redraw_lstm_default(lstm: nn.LSTM, seed: int) -> list[torch.Tensor]:
    """Draw each parameter again from U(-1/sqrt(H), 1/sqrt(H)), in registration order."""
    torch.manual_seed(seed)
    k = 1 / math.sqrt(lstm.hidden_size)
    return [torch.empty_like(p).uniform_(-k, k) for p in lstm.parameters()]


torch.manual_seed(7)
fresh_lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
xavier_bound = math.sqrt(6 / (input_size + 4 * hidden_size))  # xavier_uniform_ on weight_ih_l0
print(f"1/sqrt(H) = {1 / math.sqrt(hidden_size):.4f};  Xavier bound for weight_ih_l0 = "
      f"{xavier_bound:.4f};  largest |w| in weight_ih_l0 = "
      f"{fresh_lstm.weight_ih_l0.abs().max():.4f}")

# %%
# KP 00.2
for (name, p), redrawn in zip(fresh_lstm.named_parameters(), redraw_lstm_default(fresh_lstm, 7),
                              strict=True):
    assert torch.equal(p, redrawn), name
    assert p.abs().max() <= 1 / math.sqrt(hidden_size), name

# nn.Linear: kaiming_uniform_(a=sqrt(5)) on the weight is U(+-1/sqrt(fan_in)); the bias too.
torch.manual_seed(7)
fresh_head = nn.Linear(hidden_size, output_size)
torch.manual_seed(7)
bound = 1 / math.sqrt(hidden_size)  # fan_in = hidden_size
assert torch.equal(fresh_head.weight, torch.empty(output_size, hidden_size).uniform_(-bound, bound))
assert torch.equal(fresh_head.bias, torch.empty(output_size).uniform_(-bound, bound))

# %% [markdown]
# ### 3.2 `MSELoss` divides by the number of elements
#
# With `reduction='mean'` (the default) the squared errors are summed and divided by
# `prediction.numel()`, which is batch × output_size, not batch.

# %%
pred3, target3 = torch.randn(16, 3), torch.randn(16, 3)
squared_error_sum = ((pred3 - target3) ** 2).sum()
print(f"MSELoss: {nn.MSELoss()(pred3, target3):.4f};  sum/48: {squared_error_sum / 48:.4f};  "
      f"sum/16: {squared_error_sum / 16:.4f}")

# %%
# KP 00.3
torch.testing.assert_close(nn.MSELoss()(pred3, target3), squared_error_sum / pred3.numel())
assert not torch.isclose(nn.MSELoss()(pred3, target3), squared_error_sum / pred3.shape[0])

# %% [markdown]
# ### 3.3 Omitted states are zeros
#
# `nn.LSTM(x)` without `(h0, c0)` starts from zeros. Passing explicit zeros gives the same
# numbers bit for bit, so the two `torch.zeros` lines of the classic model change nothing
# (beyond being a place to forget `device=`).

# %%
lstm = model.lstm
zeros = torch.zeros(num_layers, batch_size, hidden_size, device=device)
out_default, (h_default, c_default) = lstm(x)
out_explicit, (h_explicit, c_explicit) = lstm(x, (zeros, zeros))

# %%
# KP 00.4
assert torch.equal(out_default, out_explicit)
assert torch.equal(h_default, h_explicit) and torch.equal(c_default, c_explicit)

# %% [markdown]
# ### 3.4 What `out[:, -1]` holds
#
# For a unidirectional LSTM, the last output step *is* the top layer's final hidden state
# `h_n[-1]`: a summary of the whole sequence, squeezed into `hidden_size` numbers. For a
# bidirectional LSTM, `out[:, -1]` concatenates the forward direction's final state with the
# backward direction's state **after reading only the last step**; the backward summary of the
# whole sequence sits at `out[:, 0, H:]`, and `h_n[-1]` holds it.

# %%
torch.manual_seed(0)
bi = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True).to(device)
out_bi, (h_bi, _) = bi(x)
H = hidden_size
out_bi_last_step_only, _ = bi(x[:, -1:])  # the backward direction run over the last step alone
print("bidirectional out:", tuple(out_bi.shape), "  h_n:", tuple(h_bi.shape))

# %%
# KP 00.5
torch.testing.assert_close(out[:, -1], h_n[-1])                   # unidirectional: equal
torch.testing.assert_close(out_bi[:, -1, :H], h_bi[-2])           # forward half: full summary
torch.testing.assert_close(out_bi[:, 0, H:], h_bi[-1])            # backward summary is at t = 0
torch.testing.assert_close(out_bi[:, -1, H:], out_bi_last_step_only[:, 0, H:])  # one step seen
assert not torch.allclose(out_bi[:, -1, H:], h_bi[-1])

# %% [markdown]
# ## 4. Glossary · 术语表
#
# The single source of the course's Chinese terms ([`glossary.toml`](glossary.toml)): the
# [Chinese edition](zh/00_the_whole_picture.ipynb) uses each term wherever this course uses
# the English one, and `tests/test_edition.py` fails where it does not.
#
# | English | 中文 | in PyTorch |
# | --- | --- | --- |
# | time step | 时间步 | one index `t` along `seq_len` |
# | sequence length | 序列长度 | `x.shape[1]` with `batch_first=True` |
# | batch size | 批量大小 | `x.shape[0]` with `batch_first=True` |
# | batch | 批量 | the sequences of one forward call, dimension B |
# | feature | 特征 | one channel of `x.shape[-1]` |
# | input size | 输入维度 | `input_size`, `x.shape[-1]` |
# | hidden state | 隐藏状态 | `h`, `h_n`, each step of `out` |
# | cell state | 细胞状态 | `c`, `c_n` |
# | hidden size | 隐藏层大小 | `hidden_size` (H) |
# | input gate | 输入门 | `i`, the first block of `weight_ih_l0` |
# | forget gate | 遗忘门 | `f`, the second block |
# | cell candidate / candidate cell | 候选细胞状态 | `g`, the third block (tanh) |
# | output gate | 输出门 | `o`, the fourth block |
# | gate | 门 | a sigmoid in (0, 1) that scales a signal |
# | layer | 层 | `num_layers` stacked LSTMs |
# | bidirectional | 双向 | `bidirectional=True`, D = 2 |
# | projection | 投影 | `proj_size`; the input projection `x @ W_ihᵀ` |
# | padding | 填充 | `pad_sequence`, `padding_idx` |
# | packing / packed sequence | 打包 | `pack_padded_sequence` |
# | loss function | 损失函数 | `nn.MSELoss`, `nn.CrossEntropyLoss` |
# | mean squared error | 均方误差 | `nn.MSELoss(reduction='mean')` |
# | cross-entropy | 交叉熵 | `nn.CrossEntropyLoss`, `F.cross_entropy` |
# | optimizer / optimiser | 优化器 | `torch.optim.Adam` |
# | learning rate | 学习率 | `lr` |
# | gradient clipping | 梯度裁剪 | `nn.utils.clip_grad_norm_` |
# | vanishing gradient | 梯度消失 | notebook 09 |
# | exploding gradient | 梯度爆炸 | notebooks 07 and 09 |
# | gradient | 梯度 | `p.grad` |
# | back-propagation through time / backpropagation through time | 随时间反向传播 | `loss.backward()` through the unrolled steps (BPTT) |
# | bias correction | 偏差校正 | Adam's division by 1 - beta^t (notebook 07) |
# | exposure bias | 暴露偏差 | free-running errors after a first mistake (notebook 13) |
# | weight decay | 权重衰减 | `weight_decay=` of an optimiser |
# | weight | 权重 | `weight_ih_l0`, `weight_hh_l0` |
# | bias | 偏置 | `bias_ih_l0`, `bias_hh_l0` |
# | initialisation / initialization | 初始化 | `nn.init`, `reset_parameters` |
# | epoch | 轮次 | one pass over the training data |
# | training set | 训练集 | the data the optimiser sees |
# | validation set | 验证集 | held out, for choices (early stopping) |
# | test set | 测试集 | held out, scored once at the end |
# | overfitting | 过拟合 | training loss falls, validation loss rises |
# | early stopping | 早停 | keep the checkpoint of the best validation loss |
# | checkpoint | 检查点 | `torch.save(model.state_dict())`, `weights_only=True` |
# | baseline | 基线 | a simple model the LSTM must beat |
# | dropout | 丢弃 | `nn.Dropout`, `nn.LSTM(dropout=p)` |
# | embedding | 嵌入 | `nn.Embedding` |
# | vocabulary | 词表 | the map between tokens and ids |
# | token | 词元 | one id of a sequence (a character, a word) |
# | language model | 语言模型 | predicts the next token |
# | perplexity | 困惑度 | `exp(cross-entropy in nats)` |
# | sequence to sequence / sequence-to-sequence | 序列到序列 | an encoder-decoder (notebook 13) |
# | encoder | 编码器 | reads the source sequence |
# | decoder | 解码器 | writes the target sequence |
# | teacher forcing | 教师强制 | the decoder reads the true previous token |
# | attention | 注意力 | weights over the source positions that sum to 1 |
# | beam search | 束搜索 | keep the k most probable partial outputs |
# | quantile | 分位数 | the pinball loss (notebook 18) |
# | quantisation / quantization | 量化 | `torch.ao.quantization.quantize_dynamic` |
# | tensor | 张量 | `torch.Tensor` |
# | knowledge point | 知识点 | `KP NN.k`, listed in `curriculum.toml` |
# | proof cell | 证明单元格 | a code cell whose first line is `# KP NN.k` |
# | widget | 交互控件 | `ipywidgets`: move it, the result changes |
# | Pitfalls | 常见陷阱 | the real error messages of common mistakes |
# | Exercise | 练习 | checked by `utils.checks` |
# | Key takeaways | 要点 | the last section of each notebook |

# %% [markdown]
# ## 5. Pitfalls
#
# The real messages of the three most common mistakes with the classic example, reproduced.
#
# **A 2-D input to a `batch_first` LSTM** is read as *one unbatched sequence*: `(16, 10)` becomes
# 16 time steps of one sequence. In the classic model the 3-D zero states then clash with it:

# %%
try:
    model(torch.randn(16, 10, device=device))
except RuntimeError as error:
    two_d_message = str(error)
print("RuntimeError:", two_d_message)
assert "For unbatched 2-D input, hx and cx should also be 2-D" in two_d_message

# %% [markdown]
# Without explicit states nothing fails in the LSTM at all: `out` is `(16, 20)`, one sequence of
# 16 steps, and `out[:, -1]` silently takes the last *hidden unit* of every step. The error
# surfaces in the head, far from its cause:

# %%
out_2d, _ = model.lstm(torch.randn(16, 10, device=device))
assert out_2d.shape == (16, 20) and out_2d[:, -1].shape == (16,)
try:
    model.fc(out_2d[:, -1])
except RuntimeError as error:
    head_message = str(error)
print("RuntimeError:", head_message)
assert "mat1 and mat2 shapes cannot be multiplied (1x16 and 20x1)" in head_message

# %% [markdown]
# `LSTMRegressor` checks its input first and says what it expected:

# %%
try:
    regressor(torch.randn(16, 10, device=device))
except ValueError as error:
    regressor_message = str(error)
print("ValueError:", regressor_message)
assert "(batch, seq_len, 10)" in regressor_message and "(16, 10)" in regressor_message

# %% [markdown]
# **The wrong feature size**:

# %%
try:
    model(torch.randn(16, 5, 7, device=device))
except RuntimeError as error:
    feature_message = str(error)
print("RuntimeError:", feature_message)
assert feature_message == "input.size(-1) must be equal to input_size. Expected 10, got 7"

# %% [markdown]
# **A `(batch,)` target against a `(batch, 1)` prediction** only warns, and returns a wrong
# number: the two broadcast to `(16, 16)`.

# %%
flat_target = y.squeeze(1)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    wrong_loss = criterion(prediction, flat_target)
print("UserWarning:", caught[0].message)
print(f"loss with (16,) target: {wrong_loss:.4f};  with (16, 1) target: "
      f"{criterion(prediction, y):.4f}")
assert "different to the input size" in str(caught[0].message)
assert not torch.isclose(wrong_loss, criterion(prediction, y))

# %% [markdown]
# ## 6. Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** The classic model gets `x` of shape `(16, 5, 10)`. What is the shape of its
# prediction? Give a tuple.

# %%
answer_1 = None  # your answer, e.g. (2, 3)
nb00.check_output_shape(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `(16, 1)`: `out` is `(16, 5, 20)`, `out[:, -1, :]` is `(16, 20)`, and the head maps 20 numbers
# to `output_size = 1`: `nb00.check_output_shape((16, 1))`.
#
# </details>
#
# **Exercise 2.** A model predicts 3 numbers for each of 16 samples. By what number does
# `nn.MSELoss()` divide the sum of squared errors?

# %%
answer_2 = None  # a whole number
nb00.check_mse_denominator(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `48`, the number of elements: `nb00.check_mse_denominator(16 * 3)`.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - The classic example maps `(batch, seq_len, input_size)` to `(batch, output_size)` through
#   `out[:, -1]`, the last hidden output.
# - Default LSTM parameters are U(±1/√H), not Xavier; `nn.Linear`'s are U(±1/√fan_in).
# - `MSELoss` averages over elements; a `(B,)` target against `(B, 1)` predictions gives a wrong
#   loss that only warns.
# - Omitting `(h0, c0)` is the same as passing zeros, and cannot put them on the wrong device.
# - `out[:, -1]` is a summary only for unidirectional, unpadded batches.
#
# **Next:** [01 · Model definition](01_model_definition.ipynb) opens up `nn.LSTM`.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 1 of 20
#
# Next: [01 · Model definition](01_model_definition.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)
