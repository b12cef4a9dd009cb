import tensorcore as torch
import math

import numpy as np

nn = torch.nn
F = torch.nn.functional
optim = torch.optim
TensorDataset = torch.utils.data.TensorDataset
DataLoader = torch.utils.data.DataLoader

# The PyTorch tutorial "What is torch.nn really?": logistic regression from scratch (log_softmax by hand, nll by
# indexing with range(), manual SGD under no_grad), then refactored step by step: F.cross_entropy, nn.Module with
# nn.Parameter, nn.Linear, optim, TensorDataset, DataLoader, fit() / loss_batch(), a CNN, nn.Sequential with a
# Lambda layer, WrappedDataLoader and AdaptiveAvgPool2d, momentum SGD. The parts receive the same initial weights.
bs = 64  # batch size
lr = 0.5  # learning rate


def from_scratch(x_train, y_train, weights0, epochs=2):
    x_train, y_train = map(torch.tensor, (x_train, y_train))
    n, c = x_train.shape

    weights = torch.tensor(weights0)  # torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    xb = x_train[0:bs]  # a mini-batch from x
    yb = y_train[0:bs]
    preds = model(xb)  # predictions
    print(preds[0], preds.shape)
    first = (loss_func(preds, yb).item(), accuracy(preds, yb).item())

    for epoch in range(epochs):  # noqa: B007
        for i in range((n - 1) // bs + 1):
            #         set_trace()
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()

    # using F.cross_entropy gives the same loss as log_softmax + nll
    loss_func = F.cross_entropy
    last = (loss_func(xb @ weights + bias, yb).item(), accuracy(model(xb), yb).item())
    return first, last, weights.detach().numpy()


class Mnist_Logistic(nn.Module):
    def __init__(self, weights0=None):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.bias = nn.Parameter(torch.zeros(10))
        if weights0 is not None:
            with torch.no_grad():
                self.weights.copy_(torch.tensor(weights0))

    def forward(self, xb):
        return xb @ self.weights + self.bias


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    history = []
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(
                *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
            )
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

        print(epoch, val_loss)
        history.append(val_loss)
    return history


def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=False),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def refactored(x_train, y_train, x_valid, y_valid, weights0, epochs=2):
    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (x_train, y_train, x_valid, y_valid)
    )
    n, c = x_train.shape
    loss_func = F.cross_entropy
    results = {}

    # nn.Module with nn.Parameter, and the manual update over model.parameters()
    model = Mnist_Logistic(weights0)
    for epoch in range(epochs):  # noqa: B007
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()
    results["module"] = loss_func(model(xb), yb).item()

    # optim, TensorDataset, DataLoader; a validation loss summed over batches
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    model = Mnist_Logistic(weights0)
    opt = optim.SGD(model.parameters(), lr=lr)
    train_dl = DataLoader(train_ds, batch_size=bs)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

        model.eval()
        with torch.no_grad():
            valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)

        print(epoch, valid_loss / len(valid_dl))
    results["dataloader"] = (valid_loss / len(valid_dl)).item()

    # fit() and get_data()
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model = Mnist_Logistic(weights0)
    opt = optim.SGD(model.parameters(), lr=lr)
    results["fit"] = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    return results


class Mnist_CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 28, 28)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.relu(self.conv3(xb))
        xb = F.avg_pool2d(xb, 4)
        return xb.view(-1, xb.size(1))


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x, y):
    return x.view(-1, 1, 28, 28), y


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))


def sequential_models():
    """The tutorial's two nn.Sequential CNNs (a Lambda view, then AdaptiveAvgPool2d)."""
    first = nn.Sequential(
        Lambda(lambda x: x.view(-1, 1, 28, 28)),
        nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    second = nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    return first, second


def cnns(models, x_train, y_train, x_valid, y_valid, epochs=2, lr=0.1):
    dev = torch.device(
        "cuda") if torch.cuda.is_available() else torch.device("cpu")
    x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, x_valid, y_valid))
    train_ds, valid_ds = TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid)
    loss_func = F.cross_entropy
    history = []
    cnn, first, second = models
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    opt = optim.SGD(cnn.parameters(), lr=lr, momentum=0.9)
    history.append(fit(epochs, cnn, loss_func, opt, train_dl, valid_dl))
    opt = optim.SGD(first.parameters(), lr=lr, momentum=0.9)
    history.append(fit(epochs, first, loss_func, opt, train_dl, valid_dl))

    def preprocess_dev(x, y):
        return x.view(-1, 1, 28, 28).to(dev), y.to(dev)

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess_dev)
    valid_dl = WrappedDataLoader(valid_dl, preprocess_dev)
    second.to(dev)
    opt = optim.SGD(second.parameters(), lr=lr, momentum=0.9)
    history.append(fit(epochs, second, loss_func, opt, train_dl, valid_dl))
    return history
