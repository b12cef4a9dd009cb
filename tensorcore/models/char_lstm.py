"""A character (or byte) LSTM language model: Embedding -> LSTM -> Linear over the vocabulary."""

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import tensor
from . import register_model
from .gpt import sample_next


class CharLSTM(nn.Module):
    """forward(idx (B, T) int64, state=None) -> logits (B, T, vocab_size) (and the state with return_state)."""

    def __init__(self, vocab_size, embedding_dim=64, hidden_size=256, num_layers=2, dropout=0.0, block_size=64):
        super().__init__()
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.config = {"vocab_size": vocab_size, "embedding_dim": embedding_dim, "hidden_size": hidden_size,
                       "num_layers": num_layers, "dropout": dropout, "block_size": block_size}
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None, return_state=False):
        out, state = self.lstm(self.embedding(idx), state)
        logits = self.head(out)
        return (logits, state) if return_state else logits

    @no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Append max_new_tokens sampled tokens to idx (B, T), carrying the LSTM state."""
        out = np.asarray(idx, dtype=np.int64)
        logits, state = self(tensor(out), return_state=True)
        for _ in range(int(max_new_tokens)):
            nxt = sample_next(logits.numpy()[:, -1, :], temperature, top_k, generator)
            out = np.concatenate([out, nxt[:, None]], axis=1)
            logits, state = self(tensor(nxt[:, None]), state, return_state=True)
        return out


@register_model("char_lstm", input_shape=(64,))
def char_lstm(vocab_size=256, embedding_dim=64, hidden_size=256, num_layers=2, dropout=0.0, block_size=64):
    """Embedding(vocab, embedding_dim) -> LSTM(hidden_size, num_layers) -> Linear(hidden_size, vocab)."""
    return CharLSTM(vocab_size, embedding_dim, hidden_size, num_layers, dropout, block_size)
