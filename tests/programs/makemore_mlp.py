import tensorcore as torch

F = torch.nn.functional


def build_dataset(words, stoi, block_size):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def main(words, steps=600, block_size=3):
    """A makemore-style character MLP: an embedding table, one tanh layer, cross entropy, manual SGD."""
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    vocab = len(stoi)
    X, Y = build_dataset(words, stoi, block_size)
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab, 8), generator=g)
    W1 = torch.randn((block_size * 8, 64), generator=g) * 0.2
    b1 = torch.randn(64, generator=g) * 0.01
    W2 = torch.randn((64, vocab), generator=g) * 0.01
    b2 = torch.randn(vocab, generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    print(sum(p.nelement() for p in parameters), "parameters")
    for i in range(steps):
        ix = torch.randint(0, X.shape[0], (32,), generator=g)
        emb = C[X[ix]]
        h = torch.tanh(emb.view(-1, block_size * 8) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < steps * 3 // 4 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
    with torch.no_grad():
        emb = C[X]
        h = torch.tanh(emb.view(-1, block_size * 8) @ W1 + b1)
        full_loss = F.cross_entropy(h @ W2 + b2, Y).item()
    print(f"loss over the whole set: {full_loss:.4f}")
    return {"loss": full_loss}
