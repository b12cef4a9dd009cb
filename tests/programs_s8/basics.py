import tensorcore as torch
import numpy as np

nn = torch.nn
DataLoader = torch.utils.data.DataLoader

# The PyTorch "Learn the Basics" tutorials: Tensors (tensor_tutorial: creation, attributes, indexing, joining,
# arithmetic with out=, in-place ops, the NumPy bridge sharing memory), Autograd (autogradqs_tutorial: grad_fn,
# requires_grad, detach, the Jacobian-vector product with retain_graph), and the Quickstart (a FashionMNIST-shaped
# MLP: the train/test loops, the device line, save and load of the state_dict, a prediction).


def tensors():
    out = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    out["creation"] = (x_data.tolist(), x_np.dtype == torch.int64, x_ones.tolist(), x_rand.dtype == torch.float32)
    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    out["shapes"] = (tuple(rand_tensor.shape), ones_tensor.sum().item(), zeros_tensor.sum().item())
    tensor = torch.rand(3, 4)
    out["attributes"] = (tuple(tensor.shape), str(tensor.dtype), str(tensor.device))
    tensor = torch.ones(4, 4)
    out["first"] = (tensor[0].tolist(), tensor[:, 0].tolist(), tensor[..., -1].tolist())
    tensor[:, 1] = 0
    out["indexing"] = tensor.tolist()
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    out["cat"] = tuple(t1.shape)
    # This computes the matrix multiplication between two tensors. y1, y2, y3 will have the same value
    # ``tensor.T`` returns the transpose of a tensor
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)

    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)

    # This computes the element-wise product. z1, z2, z3 will have the same value
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)

    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out["arithmetic"] = (y1.tolist(), bool((y1 == y2).all()), bool((y1 == y3).all()), z1.tolist(),
                         bool(torch.equal(z1, z2)), bool(torch.equal(z1, z3)))
    agg = tensor.sum()
    agg_item = agg.item()
    out["agg"] = (agg_item, type(agg_item).__name__)
    tensor.add_(5)
    out["inplace"] = tensor.tolist()
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    out["bridge"] = (n.tolist(), t.tolist())
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    out["bridge_back"] = (t.tolist(), str(t.dtype))
    return out


def autograd_tutorial():
    out = {}
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    torch.manual_seed(0)
    w = torch.tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3), requires_grad=True)
    b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    out["grad_fn"] = (z.grad_fn is not None, loss.grad_fn is not None, w.grad_fn is None)
    loss.backward()
    out["grads"] = (w.grad.tolist(), b.grad.tolist())
    z = torch.matmul(x, w) + b
    out["requires_grad"] = [z.requires_grad]
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    out["requires_grad"].append(z.requires_grad)
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    out["requires_grad"].append(z_det.requires_grad)
    inp = torch.eye(4, 5, requires_grad=True)
    out_ = (inp + 1).pow(2).t()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    first = inp.grad.tolist()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    second = inp.grad.tolist()
    inp.grad.zero_()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    out["jvp"] = (first, second, inp.grad.tolist())
    return out


# Define model
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(12*12, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def quickstart(model, training_data, test_data, path, epochs=2):
    batch_size = 16

    # Create data loaders.
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    print(f"Using {device} device")
    model = model.to(device)
    print(model)

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
    history = []

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)

            # Compute prediction error
            pred = model(X)
            loss = loss_fn(pred, y)

            # Backpropagation
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

            if batch % 100 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
            history.append(loss if isinstance(loss, float) else loss.item())

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        return test_loss, correct

    results = []
    for t in range(epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer)
        results.append(test(test_dataloader, model, loss_fn))
    print("Done!")

    torch.save(model.state_dict(), path)
    print("Saved PyTorch Model State to model.pth")

    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load(path, weights_only=True))

    classes = [f"class {i}" for i in range(10)]
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')
    return history, results, (predicted, actual)
