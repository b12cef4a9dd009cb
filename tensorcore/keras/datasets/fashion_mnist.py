"""keras.datasets.fashion_mnist over tensorcore.data.fashion_mnist()."""


def load_data():
    """((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28) and uint8 labels, as Keras returns.

    The files come from $TENSORCORE_DATA, /usr/share/datasets/fashion-mnist (Debian's
    dataset-fashion-mnist) or ~/.cache/tensorcore; see tensorcore.data.
    """
    from ...data import fashion_mnist

    (x_train, y_train), (x_test, y_test) = fashion_mnist()
    return (x_train, y_train.astype("uint8")), (x_test, y_test.astype("uint8"))
