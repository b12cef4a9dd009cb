"""keras.datasets.mnist over tensorcore.data.mnist()."""


def load_data():
    """((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28) and uint8 labels, as Keras returns."""
    from ...data import mnist

    (x_train, y_train), (x_test, y_test) = mnist()
    return (x_train, y_train.astype("uint8")), (x_test, y_test.astype("uint8"))
