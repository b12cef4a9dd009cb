import tensorcore as torch

nn = torch.nn
DataLoader = torch.utils.data.DataLoader
TensorDataset = torch.utils.data.TensorDataset


class NeuralNetwork(nn.Module):
    def __init__(self, pixels, classes):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(pixels, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for X, y in dataloader:
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def test(dataloader, model, loss_fn):
    model.eval()
    size, num_batches = len(dataloader.dataset), len(dataloader)
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f}")
    return correct, test_loss


def main(train_x, train_y, test_x, test_y, epochs=8, seed=0):
    """The quickstart: an MLP on images of `classes` kinds, trained with SGD from a DataLoader."""
    torch.manual_seed(seed)
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    device = "cpu" if device == "cuda" else device  # the comparison runs on the host
    train_data = TensorDataset(torch.tensor(train_x), torch.tensor(train_y))
    test_data = TensorDataset(torch.tensor(test_x), torch.tensor(test_y))
    train_loader = DataLoader(train_data, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_data, batch_size=64)
    model = NeuralNetwork(train_x[0].size, int(train_y.max()) + 1).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        train(train_loader, model, loss_fn, optimizer)
    accuracy, loss = test(test_loader, model, loss_fn)
    return {"accuracy": accuracy, "loss": loss}
