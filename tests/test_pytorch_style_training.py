"""An everyday PyTorch training script (convnet, Adadelta, StepLR, DataLoader) run with only the import changed."""

import numpy as np

import tensorcore as torch
import tensorcore.nn as nn
import tensorcore.nn.functional as F
from tensorcore.optim.lr_scheduler import StepLR
from tensorcore.utils.data import DataLoader, TensorDataset, random_split


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def _data(n=256):
    """Bright blobs in the top half (class 0) or the bottom half (class 1) of a 10x10 image."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.3, (n, 1, 10, 10)).astype(np.float32)
    for i in range(n):
        r = rng.integers(0, 4) + 5 * y[i]
        c = rng.integers(0, 8)
        x[i, 0, r:r + 2, c:c + 2] += 2.0
    return torch.tensor(x), torch.tensor(y)


def test_mnist_style_script_trains():
    torch.manual_seed(1)
    x, y = _data()
    train_set, test_set = random_split(TensorDataset(x, y), [0.75, 0.25], generator=torch.Generator().manual_seed(0))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=64)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for _epoch in range(4):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            pred = model(data).argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    assert correct / len(test_loader.dataset) > 0.9
    assert optimizer.param_groups[0]["lr"] == 1.0 * 0.7 * 0.7 * 0.7 * 0.7  # PyTorch multiplies step by step
