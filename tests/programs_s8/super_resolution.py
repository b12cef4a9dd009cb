import tensorcore as torch
from math import log10

nn = torch.nn
init = torch.nn.init
optim = torch.optim

# pytorch/examples super_resolution: model.py (sub-pixel convolution: PixelShuffle, orthogonal_ init with
# calculate_gain) and main.py's train / test (MSELoss, Adam, PSNR), with 8 and 4 channels.


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 8, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(8, 8, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(8, 4, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(4, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def main(model, targets, upscale_factor=2, epochs=2, batch_size=4, lr=0.01):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    hr = torch.from_numpy(targets)
    lr_images = torch.nn.functional.avg_pool2d(hr, upscale_factor)  # the low-resolution inputs
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(lr_images, hr), batch_size=batch_size)
    model = model.to(device)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses, psnrs = [], []
    for epoch in range(1, epochs + 1):
        epoch_loss = 0
        for iteration, batch in enumerate(loader, 1):
            input, target = batch[0].to(device), batch[1].to(device)

            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            print("===> Epoch[{}]({}/{}): Loss: {:.4f}".format(epoch, iteration, len(loader), loss.item()))  # noqa: UP032
        avg_psnr = 0
        with torch.no_grad():
            for batch in loader:
                input, target = batch[0].to(device), batch[1].to(device)

                prediction = model(input)
                mse = criterion(prediction, target)
                psnr = 10 * log10(1 / mse.item())
                avg_psnr += psnr
        print("===> Avg. PSNR: {:.4f} dB".format(avg_psnr / len(loader)))  # noqa: UP032
        psnrs.append(avg_psnr / len(loader))
    return {"losses": losses, "psnr": psnrs, "shape": tuple(prediction.shape)}
