import tensorcore as torch
import time

nn = torch.nn
DataLoader = torch.utils.data.DataLoader
random_split = torch.utils.data.random_split

# The PyTorch tutorial "Text classification with the torchtext library", without torchtext: TextClassificationModel
# (nn.EmbeddingBag with offsets, .data.uniform_ init), collate_batch (offsets from cumsum), train / evaluate with
# clip_grad_norm_(0.1), StepLR(optimizer, 1.0, gamma=0.1) stepped when the validation accuracy drops, and predict.
# The vocabulary is a dict of words; the text pipeline splits on spaces.


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


def make_pipelines(vocab):
    def text_pipeline(x):
        return [vocab.get(w, 0) for w in x.split()]

    def label_pipeline(x):
        return int(x) - 1

    return text_pipeline, label_pipeline


def run(model, train_iter, test_iter, vocab, epochs=3, lr=5, batch_size=8, shuffle=False):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    text_pipeline, label_pipeline = make_pipelines(vocab)

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list.to(device), text_list.to(device), offsets.to(device)

    def train(dataloader):
        model.train()
        total_acc, total_count = 0, 0
        log_interval = 500
        start_time = time.time()  # noqa: F841
        losses = []
        for idx, (label, text, offsets) in enumerate(dataloader):
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            losses.append(loss.item())
            if idx % log_interval == 0 and idx > 0:
                print("| epoch {:3d} | {:5d}/{:5d} batches | accuracy {:8.3f}".format(  # noqa: UP032
                    epoch, idx, len(dataloader), total_acc / total_count))
                total_acc, total_count = 0, 0
        return losses

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count = 0, 0

        with torch.no_grad():
            for idx, (label, text, offsets) in enumerate(dataloader):  # noqa: B007
                predicted_label = model(text, offsets)
                loss = criterion(predicted_label, label)  # noqa: F841
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    total_accu = None
    train_dataset = list(train_iter)
    test_dataset = list(test_iter)
    num_train = int(len(train_dataset) * 0.95)
    split_train_, split_valid_ = (train_dataset[:num_train], train_dataset[num_train:]) if not shuffle else \
        random_split(train_dataset, [num_train, len(train_dataset) - num_train])

    train_dataloader = DataLoader(split_train_, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_batch)
    valid_dataloader = DataLoader(split_valid_, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_batch)
    test_dataloader = DataLoader(test_dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_batch)
    history = []
    for epoch in range(1, epochs + 1):
        epoch_start_time = time.time()
        losses = train(train_dataloader)
        accu_val = evaluate(valid_dataloader)
        if total_accu is not None and total_accu > accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        print("-" * 59)
        print("| end of epoch {:3d} | time: {:5.2f}s | valid accuracy {:8.3f} ".format(  # noqa: UP032
            epoch, time.time() - epoch_start_time, accu_val))
        print("-" * 59)
        history.append((losses, accu_val, optimizer.param_groups[0]["lr"]))

    accu_test = evaluate(test_dataloader)
    print("test accuracy {:8.3f}".format(accu_test))  # noqa: UP032

    def predict(text, text_pipeline):
        with torch.no_grad():
            text = torch.tensor(text_pipeline(text))
            output = model(text, torch.tensor([0]))
            return output.argmax(1).item() + 1

    return history, accu_test, predict("w3 w3 w7 w1", text_pipeline)
