import tensorcore as torch
import copy
import os
import time
from tempfile import TemporaryDirectory

nn = torch.nn
optim = torch.optim
lr_scheduler = torch.optim.lr_scheduler

# The PyTorch tutorial "Transfer Learning for Computer Vision": train_model (phases, set_grad_enabled,
# torch.max(outputs, 1), running_corrects from torch.sum(preds == labels.data), .double(), the best weights saved
# to a TemporaryDirectory and reloaded), finetuning with a replaced fc, and the fixed feature extractor
# (requires_grad = False, only fc's parameters to SGD, StepLR). A small "pretrained" convnet stands in for ResNet-18.


class SmallResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def train_model(model, criterion, optimizer, scheduler, dataloaders, dataset_sizes, device, num_epochs=25):
    since = time.time()
    history = []
    # Create a temporary directory to save training checkpoints
    with TemporaryDirectory() as tempdir:
        best_model_params_path = os.path.join(tempdir, 'best_model_params.pt')

        torch.save(model.state_dict(), best_model_params_path)
        best_acc = 0.0

        for epoch in range(num_epochs):
            print(f'Epoch {epoch}/{num_epochs - 1}')
            print('-' * 10)

            # Each epoch has a training and validation phase
            for phase in ['train', 'val']:
                if phase == 'train':
                    model.train()  # Set model to training mode
                else:
                    model.eval()   # Set model to evaluate mode

                running_loss = 0.0
                running_corrects = 0

                # Iterate over data.
                for inputs, labels in dataloaders[phase]:
                    inputs = inputs.to(device)
                    labels = labels.to(device)

                    # zero the parameter gradients
                    optimizer.zero_grad()

                    # forward
                    # track history if only in train
                    with torch.set_grad_enabled(phase == 'train'):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)

                        # backward + optimize only if in training phase
                        if phase == 'train':
                            loss.backward()
                            optimizer.step()

                    # statistics
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == 'train':
                    scheduler.step()

                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]

                print(f'{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}')
                history.append((epoch_loss, epoch_acc.item()))

                # deep copy the model
                if phase == 'val' and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    torch.save(model.state_dict(), best_model_params_path)

            print()

        time_elapsed = time.time() - since
        print(f'Training complete in {time_elapsed // 60:.0f}m {time_elapsed % 60:.0f}s')
        print(f'Best val Acc: {best_acc:4f}')

        # load best model weights
        model.load_state_dict(torch.load(best_model_params_path, weights_only=True))
    return model, history, best_acc


def loaders(train_xy, val_xy, batch_size=8):
    image_datasets = {x: torch.utils.data.TensorDataset(torch.from_numpy(xy[0]), torch.from_numpy(xy[1]))
                      for x, xy in (('train', train_xy), ('val', val_xy))}
    dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=batch_size, shuffle=False,
                                                  num_workers=0)
                   for x in ['train', 'val']}
    dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}
    return dataloaders, dataset_sizes


def finetune(model_ft, train_xy, val_xy, new_fc_state, epochs=2):
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    dataloaders, dataset_sizes = loaders(train_xy, val_xy)
    num_ftrs = model_ft.fc.in_features
    # Here the size of each output sample is set to 2.
    # Alternatively, it can be generalized to ``nn.Linear(num_ftrs, len(class_names))``.
    model_ft.fc = nn.Linear(num_ftrs, 2)
    model_ft.fc.load_state_dict({k: torch.tensor(v) for k, v in new_fc_state.items()})  # (the test's)

    model_ft = model_ft.to(device)

    criterion = nn.CrossEntropyLoss()

    # Observe that all parameters are being optimized
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9)

    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=7, gamma=0.1)
    return train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler, dataloaders, dataset_sizes, device,
                       num_epochs=epochs)


def fixed_feature_extractor(model_conv, train_xy, val_xy, new_fc_state, epochs=2):
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    dataloaders, dataset_sizes = loaders(train_xy, val_xy)
    for param in model_conv.parameters():
        param.requires_grad = False

    # Parameters of newly constructed modules have requires_grad=True by default
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)
    model_conv.fc.load_state_dict({k: torch.tensor(v) for k, v in new_fc_state.items()})  # (the test's)

    model_conv = model_conv.to(device)

    criterion = nn.CrossEntropyLoss()

    # Observe that only parameters of final layer are being optimized as
    # opposed to before.
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)

    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=7, gamma=0.1)
    return train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, dataloaders, dataset_sizes, device,
                       num_epochs=epochs)


def param_groups(model, train_xy, steps=3):
    """The finetuning FAQ's form: a base at lr 1e-2 and a head at 1e-3, the base frozen with requires_grad_(False)
    halfway (its group keeps its parameters; their grads are None, so SGD skips them)."""
    optimizer = optim.SGD([{'params': [p for n, p in model.named_parameters() if not n.startswith('fc.')]},
                           {'params': model.fc.parameters(), 'lr': 1e-3}], lr=1e-2, momentum=0.9)
    x, y = torch.from_numpy(train_xy[0]), torch.from_numpy(train_xy[1])
    model.train()
    losses = []
    for step in range(steps):
        if step == 1:
            model.conv1.requires_grad_(False)
            model.bn1.requires_grad_(False)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    frozen = copy.deepcopy(model.conv1.weight.grad)
    return losses, frozen, [len(g['params']) for g in optimizer.param_groups]
