"""Seeing inside a conv net: saliency maps, class activation maps, ZFNet's deconvnet projection.

    tensorcore visualize --model CHECKPOINT --image-index N --out PNG [--deconv]

* saliency(model, x, target): |d score_target / d x|, the max over channels (Simonyan et al., 2014).
* class_activation_map(model, x, target): for a network ending in global average pooling and one
  linear layer, CAM = sum_k w[target, k] f_k (Zhou et al., 2016), f the last conv feature maps; for
  any other conv net, Grad-CAM (Selvaraju et al., 2017): relu(sum_k a_k f_k), a_k the spatial mean
  of d score / d f_k (the same map as CAM, up to scale, when the network does end in GAP + linear).
* deconvnet(model, x, layer, channel): Zeiler and Fergus (2013). Run forward to `layer` keeping
  every max pool's switches; zero all activations but the strongest of `channel`; project back to
  pixels: unpool with the stored switches, ReLU, and the transposed filters (conv_transpose2d with
  the layer's own weight). LRN and dropout are passed through, as in the paper.

A model is read as a list of layers: an nn.Sequential (nested ones flattened), or a module with
`features` (and optionally `avgpool`) and `classifier`, as AlexNet, ZFNet and torchvision's models.
"""

import numpy as np

from . import nn, ops
from .autograd import enable_grad, grad, no_grad
from .errors import ShapeError, TensorcoreError
from .tensor import Tensor, tensor

# --- the model as a list of layers -------------------------------------------------------------------


def layers_of(model):
    """The model's layers in call order (nested Sequentials flattened)."""
    if isinstance(model, nn.Sequential):
        out = []
        for m in model:
            out += layers_of(m) if isinstance(m, nn.Sequential) else [m]
        return out
    if hasattr(model, "features") and hasattr(model, "classifier"):
        mid = [model.avgpool] if isinstance(getattr(model, "avgpool", None), nn.Module) else []
        return layers_of(model.features) + mid + [nn.Flatten()] + layers_of(model.classifier)
    raise TensorcoreError(f"visualize: cannot read {type(model).__name__} as a list of layers; use an "
                          "nn.Sequential or a module with .features and .classifier")


def _last_conv_index(layers):
    """Index of the last layer whose output is still a feature map: the last Conv2d and its activation."""
    idx = None
    for i, m in enumerate(layers):
        if isinstance(m, nn.Conv2d):
            idx = i
        elif idx is not None and i == idx + 1 and isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU)):
            idx = i
    if idx is None:
        raise TensorcoreError("visualize: the model has no Conv2d layer, so it has no feature maps to show")
    return idx


def _as_batch(x):
    if not isinstance(x, Tensor):
        x = tensor(np.asarray(x, dtype=np.float32))
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ShapeError(f"visualize: expected one image (C, H, W) or (1, C, H, W), got shape {x.shape}")
    return x


def _run(layers, x, upto=None):
    for i, m in enumerate(layers):
        x = m(x)
        if upto is not None and i == upto:
            break
    return x


# --- saliency ----------------------------------------------------------------------------------------


def saliency(model, x, target=None):
    """|d score[target] / d x| maximised over channels: (H, W). target defaults to the predicted class.

    Example:
        s = saliency(model, test_images[0])       # (28, 28), large where a pixel change moves the score
    """
    x = _as_batch(x).detach().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with enable_grad():
            scores = model(x)
            target = int(scores.numpy()[0].argmax()) if target is None else int(target)
            (gx,) = grad(scores[0, target], x)
    finally:
        model.train(was_training)
    return np.abs(gx.numpy()[0]).max(axis=0)


# --- class activation maps ---------------------------------------------------------------------------


def _gap_head(layers, conv_idx):
    """The final Linear when everything after the feature maps is global average pooling + flatten +
    (dropout) + one Linear; else None."""
    tail = layers[conv_idx + 1:]
    pooled = False
    for j, m in enumerate(tail):
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
            pooled = True
        elif isinstance(m, (nn.Flatten, nn.Dropout, nn.Identity)):
            continue
        elif isinstance(m, nn.Linear):
            return m if pooled and j == len(tail) - 1 else None
        else:
            return None
    return None


def class_activation_map(model, x, target=None):
    """(map (H, W) in [0, 1] at the input's size, kind 'CAM' or 'Grad-CAM', target class).

    Example:
        cam, kind, cls = class_activation_map(model, test_images[0])
    """
    layers = layers_of(model)
    k = _last_conv_index(layers)
    x = _as_batch(x)
    was_training = model.training
    model.eval()
    try:
        with enable_grad():
            feats = _run(layers, x.detach(), upto=k).detach().requires_grad_(True)
            scores = _run(layers[k + 1:], feats)
            target = int(scores.numpy()[0].argmax()) if target is None else int(target)
            head = _gap_head(layers, k)
            f = feats.numpy()[0]  # (C, h, w)
            if head is not None:
                weights = head.weight.numpy()[target]
                cam, kind = np.tensordot(weights, f, axes=(0, 0)), "CAM"
            else:
                (gf,) = grad(scores[0, target], feats)
                alpha = gf.numpy()[0].mean(axis=(1, 2))
                cam, kind = np.maximum(np.tensordot(alpha, f, axes=(0, 0)), 0), "Grad-CAM"
    finally:
        model.train(was_training)
    cam = cam - cam.min()
    if cam.max() > 0:
        cam = cam / cam.max()
    return resize_bilinear(cam, x.shape[2:]), kind, target


def resize_bilinear(a, size):
    """Bilinear resize of a 2-D array to `size` (align_corners=False, as PyTorch's interpolate)."""
    h, w = a.shape
    oh, ow = size

    def coords(n, out):
        c = (np.arange(out) + 0.5) * n / out - 0.5
        c = np.clip(c, 0, n - 1)
        lo = np.floor(c).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        return lo, hi, c - lo

    r0, r1, fr = coords(h, oh)
    c0, c1, fc = coords(w, ow)
    top = a[r0][:, c0] * (1 - fc) + a[r0][:, c1] * fc
    bottom = a[r1][:, c0] * (1 - fc) + a[r1][:, c1] * fc
    return top * (1 - fr)[:, None] + bottom * fr[:, None]


# --- deconvnet ---------------------------------------------------------------------------------------


def deconvnet(model, x, layer=None, channel=None, keep="max"):
    """Project one feature map of `layer` back to pixel space (Zeiler and Fergus, 2013): (C, H, W).

    layer: index into layers_of(model) (default: the last conv layer's activation); channel: the
    feature map (default: the most active one); keep='max' keeps only its strongest activation,
    keep='all' the whole map. Going down: ReLU -> relu, MaxPool2d -> max_unpool2d with the forward
    switches, Conv2d -> conv_transpose2d with the same weight (no bias), LRN/Dropout -> identity.

    Example:
        img = deconvnet(model, test_images[0], channel=3)   # what excites feature map 3
    """
    return deconvnet_strongest(model, x, layer, channel, keep)[0]


def deconvnet_strongest(model, x, layer=None, channel=None, keep="max"):
    """(projection (C, H, W), info) as deconvnet; info: layer, layer_name, conv (how many Conv2d up to
    `layer`), channel, position, value, box.

    box = (top, bottom, left, right): the receptive field of the strongest activation of `channel`
    in the input (rows top:bottom, columns left:right), where all of the projection lives.
    """
    x = _as_batch(x)
    layers = layers_of(model)
    layer = _last_conv_index(layers) if layer is None else int(layer)
    if not 0 <= layer < len(layers):
        raise TensorcoreError(f"deconvnet: layer {layer} is out of range (the model has {len(layers)} layers)")
    was_training = model.training
    model.eval()
    trace = []  # (module, input shape, switches)
    try:
        with no_grad():
            h = x
            for m in layers[: layer + 1]:
                if isinstance(m, nn.MaxPool2d):
                    y, idx = ops.pool.max_pool2d(h, m.kernel_size, m.stride, m.padding, m.dilation,
                                                 return_indices=True)
                    trace.append((m, h.shape, idx))
                    h = y
                elif isinstance(m, (nn.Conv2d, nn.ReLU, nn.LocalResponseNorm, nn.Dropout, nn.Dropout2d,
                                    nn.BatchNorm2d, nn.Identity)):
                    trace.append((m, h.shape, None))
                    h = m(h)
                else:
                    raise TensorcoreError(f"deconvnet: cannot project through {type(m).__name__} (layer "
                                          f"{len(trace)}); pick a layer inside the convolutional part")
            if h.ndim != 4:
                raise TensorcoreError(f"deconvnet: layer {layer} outputs shape {h.shape}, not feature maps")
            a = h.numpy()[0]
            if channel is None:
                channel = int(a.reshape(a.shape[0], -1).max(axis=1).argmax())
            if not 0 <= channel < a.shape[0]:
                raise TensorcoreError(f"deconvnet: channel {channel} out of range for {a.shape[0]} feature maps")
            pos = np.unravel_index(int(a[channel].argmax()), a[channel].shape)
            top = np.zeros_like(a)
            if keep == "max":
                top[(channel,) + pos] = a[(channel,) + pos]
            else:
                top[channel] = a[channel]
            r = tensor(top[None])
            for m, in_shape, idx in reversed(trace):
                if isinstance(m, nn.MaxPool2d):
                    r = ops.pool.max_unpool2d(r, idx, m.kernel_size, m.stride, m.padding, output_size=in_shape[2:])
                elif isinstance(m, nn.ReLU):
                    r = nn.functional.relu(r)
                elif isinstance(m, nn.Conv2d):
                    r = _transpose_conv(m, r, in_shape)
            convs = sum(isinstance(m, nn.Conv2d) for m in layers[: layer + 1])
            info = {"layer": layer, "layer_name": type(layers[layer]).__name__, "conv": convs, "channel": channel,
                    "position": tuple(int(p) for p in pos), "value": float(a[(channel,) + pos]),
                    "box": receptive_field([m for m, _, _ in trace], pos, x.shape[2:])}
            return r.numpy()[0], info
    finally:
        model.train(was_training)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def receptive_field(layers, position, size):
    """(top, bottom, left, right): the input pixels that reach output `position` through conv/pool `layers`.

    Going down one layer of kernel k, stride s, padding p, dilation d, output rows [a, b] read input
    rows [a s - p, b s - p + d (k - 1)]; the result is clipped to the image of `size` (H, W).
    """
    lo, hi = [int(position[0]), int(position[1])], [int(position[0]), int(position[1])]
    for m in reversed(layers):
        if not isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            continue
        k, d = _pair(m.kernel_size), _pair(m.dilation)
        s = _pair(m.stride if m.stride is not None else m.kernel_size)
        if isinstance(m.padding, str):
            from .ops.conv import _same_padding

            pad = _same_padding(k, d)[0] if m.padding == "same" else (0, 0)
        else:
            pad = _pair(m.padding)
        for a in (0, 1):
            lo[a] = lo[a] * s[a] - pad[a]
            hi[a] = hi[a] * s[a] - pad[a] + d[a] * (k[a] - 1)
    return (max(lo[0], 0), min(hi[0] + 1, size[0]), max(lo[1], 0), min(hi[1] + 1, size[1]))


def _transpose_conv(conv, r, in_shape):
    """conv_transpose2d with conv's own weight, sized back to the conv's input."""
    if isinstance(conv.padding, str):
        from .ops.conv import _same_padding

        if conv.padding == "same":
            before, after = _same_padding(conv.kernel_size, conv.dilation)
            full = ops.conv.conv_transpose2d(r, conv.weight, None, 1, 0, 0, conv.groups, conv.dilation)
            return full[:, :, before[0]:before[0] + in_shape[2], before[1]:before[1] + in_shape[3]]
        padding = (0, 0)
    else:
        padding = conv.padding
    base = [(r.shape[2 + a] - 1) * conv.stride[a] - 2 * padding[a] + conv.dilation[a] * (conv.kernel_size[a] - 1) + 1
            for a in (0, 1)]
    extra = tuple(in_shape[2 + a] - base[a] for a in (0, 1))
    if min(extra) < 0 or any(e >= max(s, d) for e, s, d in zip(extra, conv.stride, conv.dilation)):
        raise ShapeError(f"deconvnet: cannot size the transposed convolution back to {in_shape}")
    return ops.conv.conv_transpose2d(r, conv.weight, None, conv.stride, padding, extra, conv.groups, conv.dilation)


# --- the picture --------------------------------------------------------------------------------------


def _normalize(a):
    a = a - a.min()
    return a / a.max() if a.max() > 0 else a


def _display(img):
    """(C, H, W) -> something imshow takes: (H, W) grey or (H, W, 3)."""
    return img[0] if img.shape[0] == 1 else np.transpose(img[:3], (1, 2, 0))


def class_name(c, class_names=None):
    """'Bag (8)' with names, else '8'."""
    return f"{class_names[c]} ({c})" if class_names is not None and 0 <= c < len(class_names) else str(c)


def _image_panel(ax, data, title, xlabel, cmap="gray"):
    im = ax.imshow(data, cmap=cmap)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def render(model, image, path, label=None, class_names=None, with_deconv=False, model_name=None):
    """Write a PNG: input | saliency | CAM (| deconvnet), side by side. Returns the predicted class."""
    from .figures import pyplot, save

    plt = pyplot()
    img = np.asarray(image, dtype=np.float32)
    sal = saliency(model, img)
    cam, kind, pred = class_activation_map(model, img)
    n = 4 if with_deconv else 3
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.6), layout="constrained")
    shown = _display(img)
    _image_panel(axes[0], shown, "input", "true: " + (class_name(label, class_names) if label is not None else "?"))
    im = _image_panel(axes[1], _normalize(sal), "saliency |d score / d pixel|",
                      f"gradient of the {class_name(pred, class_names)} score", cmap="hot")
    fig.colorbar(im, ax=axes[1], shrink=0.8, label="relative (max 1)")
    axes[2].imshow(shown, cmap="gray")
    im = axes[2].imshow(cam, cmap="jet", alpha=0.5, vmin=0, vmax=1)
    axes[2].set_title(f"{kind}: where the evidence is", fontsize=10)
    axes[2].set_xlabel(f"last conv maps weighted for {class_name(pred, class_names)}", fontsize=8)
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    fig.colorbar(im, ax=axes[2], shrink=0.8, label="class activation (max 1)")
    if with_deconv:
        proj, info = deconvnet_strongest(model, img)
        top, bottom, left, right = info["box"]
        crop = _display(proj[:, top:bottom, left:right])
        crop = crop / (np.abs(crop).max() or 1.0)  # signed: red pixels raise the activation, blue lower it
        im = _image_panel(axes[3], crop, f"deconvnet: conv{info['conv']}, map {info['channel']}",
                          f"its strongest activation projected to pixels,\ncropped to its {bottom - top}x"
                          f"{right - left} receptive field (box on the input)", cmap="RdBu_r")
        im.set_clim(-1, 1)
        fig.colorbar(im, ax=axes[3], shrink=0.8, label="projection (signed, max 1)")
        axes[0].add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, lw=1.5,
                                        color="tab:orange"))
    title = f"{model_name or type(model).__name__}: predicted {class_name(pred, class_names)}"
    if label is not None:
        title += f", true {class_name(label, class_names)}" + (" (correct)" if label == pred else " (wrong)")
    fig.suptitle(title, fontsize=11)
    save(fig, path, dpi=90)
    return pred


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


# --- the command ---------------------------------------------------------------------------------------


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="PATH",
                        help="a checkpoint written by `tensorcore train --save` (its model name is inside)")
    parser.add_argument("--image-index", type=int, default=0, help="index into the test set")
    parser.add_argument("--out", required=True, metavar="PNG", help="where to write the picture")
    parser.add_argument("--dataset", default=None, help="fashion-mnist or mnist (default: the checkpoint's)")
    parser.add_argument("--deconv", action="store_true", help="add ZFNet's deconvnet projection as a 4th panel")


def load_model(path):
    """(model, name, dataset) from a training checkpoint."""
    from . import serialization
    from .train import build_model

    state = serialization.load(path)
    if not isinstance(state, dict) or "model_name" not in state or "model" not in state:
        raise serialization.CheckpointError(f"{path}: not a training checkpoint written by `tensorcore train --save`")
    from . import models

    name = state["model_name"]
    model = build_model(name, 10, models.input_shape(name))
    model.load_state_dict(state["model"])
    model.eval()
    return model, name, state.get("dataset", "fashion-mnist")


def run(args):
    from . import data, models

    model, name, dataset = load_model(args.model)
    dataset = args.dataset or dataset
    (_, _), (x_test, y_test) = data.fashion_mnist() if dataset == "fashion-mnist" else data.mnist()
    if not 0 <= args.image_index < len(x_test):
        raise ShapeError(f"--image-index {args.image_index} is out of range for {len(x_test)} test images")
    shape = models.input_shape(name)
    image = (x_test[args.image_index].astype(np.float32) / 255.0).reshape(shape)
    if len(shape) != 3:
        raise TensorcoreError(f"visualize: model {name!r} takes flat inputs {shape}; saliency and CAM need a conv "
                              "net (lenet5, alexnet, zfnet)")
    names = FASHION_CLASSES if dataset == "fashion-mnist" else None
    true = int(y_test[args.image_index])
    pred = render(model, image, args.out, true, names, with_deconv=args.deconv, model_name=name)
    print(f"{args.out}: {name} on {dataset} test image {args.image_index}: true {class_name(true, names)}, "
          f"predicted {class_name(pred, names)}")
    return 0
