import tensorcore as torch
from itertools import count

F = torch.nn.functional

# pytorch/examples regression/main.py: fit a degree-4 polynomial with one Linear layer, smooth_l1_loss and
# p.data.add_(-0.1 * p.grad), until the loss is under 1e-3 (or max_batches).

POLY_DEGREE = 4


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)  # noqa: UP032
    result += '{:+.2f}'.format(b[0])  # noqa: UP032
    return result


def main(max_batches=200, init=None):
    torch.manual_seed(1)
    W_target = torch.randn(POLY_DEGREE, 1) * 5
    b_target = torch.randn(1) * 5

    def f(x):
        """Approximated function."""
        return x.mm(W_target) + b_target.item()

    def get_batch(batch_size=32):
        """Builds a batch i.e. (x, f(x)) pair."""
        random = torch.randn(batch_size)
        x = make_features(random)
        y = f(x)
        return x, y

    # Define model
    fc = torch.nn.Linear(W_target.size(0), 1)
    if init is not None:  # (the test starts both frameworks from the same weights)
        fc.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    losses = []
    for batch_idx in count(1):
        # Get data
        batch_x, batch_y = get_batch()

        # Reset gradients
        fc.zero_grad()

        # Forward pass
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()

        # Backward pass
        output.backward()

        # Apply gradients
        for param in fc.parameters():
            param.data.add_(-0.1 * param.grad)

        losses.append(loss)
        # Stop criterion
        if loss < 1e-3 or batch_idx >= max_batches:
            break

    print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))  # noqa: UP032
    print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
    print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))
    return {"losses": losses, "learned": poly_desc(fc.weight.view(-1), fc.bias),
            "actual": poly_desc(W_target.view(-1), b_target), "fc": fc}
