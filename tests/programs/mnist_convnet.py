import tensorcore as torch

nn = torch.nn
F = torch.nn.functional
optim = torch.optim
StepLR = torch.optim.lr_scheduler.StepLR


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def main(train_x, train_y, test_x, test_y, epochs=3, batch_size=32, seed=1):
    """The MNIST example's shape: a small convnet, Adadelta(lr=1.0), StepLR(step_size=1, gamma=0.7)."""
    torch.manual_seed(seed)
    model = Net(int(train_y.max()) + 1)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    x_train, y_train = torch.tensor(train_x), torch.tensor(train_y)
    for _epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(x_train.size(0))
        for start in range(0, x_train.size(0), batch_size):
            idx = order[start:start + batch_size]
            data, target = x_train[idx], y_train[idx]
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    model.eval()
    with torch.no_grad():
        output = model(torch.tensor(test_x))
        target = torch.tensor(test_y)
        test_loss = F.nll_loss(output, target, reduction="sum").item() / len(test_y)
        pred = output.argmax(dim=1, keepdim=True)
        correct = pred.eq(target.view_as(pred)).sum().item()
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(test_y)}")
    return {"accuracy": correct / len(test_y), "loss": test_loss, "lr": optimizer.param_groups[0]["lr"]}
