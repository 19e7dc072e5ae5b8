"""Reference class activation maps, for the graders and the training recipe only.

``class_activation_map`` is the classic CAM (Zhou et al. 2016): the last
convolutional feature maps weighted by the dense weights of one class.
``grad_cam`` follows the keras.io Grad-CAM recipe with a ``tf.GradientTape`` on
a Functional sub-model, so it also works for other heads and layers. For a
GAP + Dense head both give the same map once negative values are clipped.

Both are the solutions of Notebook 3's tasks, so they live here, outside the
student package: the kernel of a graded submission cannot import them. Maps are
returned at the input size, clipped at zero and scaled so that the maximum is 1.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from dlbmt.errors import CourseError

LAST_CONV_NAME = "last_conv"


def _one_image(images, img_num: int) -> np.ndarray:
    """The chosen image as a float32 batch of one, shape (1, H, W, C)."""
    array = np.asarray(images)
    if array.ndim not in (3, 4):
        raise CourseError(
            f"The images have shape {array.shape}; expected a stack of shape (N, H, W, 1) "
            "or (N, H, W), for example the result of load_audit_set()."
        )
    image = array[_checked_index(img_num, len(array))].astype(np.float32)
    if image.ndim == 2:
        image = image[..., None]
    return image[None]


def _checked_index(img_num: int, count: int) -> int:
    """``img_num`` as an index from 0, if it names one of ``count`` images."""
    if not -count <= img_num < count:
        raise CourseError(f"img_num={img_num} is outside the {count} images.")
    return img_num % count


def _conv_layer(model: keras.Model, layer_name: str | None) -> keras.layers.Layer:
    if layer_name is not None:
        try:
            return model.get_layer(layer_name)
        except ValueError:
            raise CourseError(
                f"The model has no layer called {layer_name!r}. Check model.summary() for names."
            ) from None
    names = [layer.name for layer in model.layers]
    if LAST_CONV_NAME in names:
        return model.get_layer(LAST_CONV_NAME)
    convs = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer) and len(layer.output.shape) == 4
    ]
    if not convs:
        raise CourseError("The model has no layer with 2-D feature maps, so no CAM can be drawn.")
    return convs[-1]


def _model_input(model: keras.Model):
    # A single input passed as a list triggers a structure warning in Keras 3.
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _dense_head(model: keras.Model) -> keras.layers.Dense:
    denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not denses:
        raise CourseError("The model has no Dense output layer; CAM needs GAP followed by Dense.")
    return denses[-1]


def _check_functional(model: keras.Model) -> None:
    if isinstance(model, keras.Sequential) or not hasattr(model, "inputs"):
        return
    if not model.inputs:
        raise CourseError(
            "The model has not been built yet. Call it once on an image or build it with "
            "keras.Input (Functional API) before computing a CAM."
        )


def _check_class(klasse: int, n_classes: int) -> None:
    if not 0 <= klasse < n_classes:
        raise CourseError(f"klasse={klasse} does not exist; the model has {n_classes} classes.")


def _finish(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Clip at zero, upsample bilinearly to ``size``, scale the maximum to 1."""
    clipped = np.maximum(raw, 0.0).astype(np.float32)
    resized = tf.image.resize(clipped[..., None], size, method="bilinear").numpy()[..., 0]
    peak = float(resized.max())
    return resized / peak if peak > 0 else np.zeros(size, np.float32)


def class_activation_map(model: keras.Model, images, img_num: int, klasse: int) -> np.ndarray:
    """CAM of image ``images[img_num]`` for class ``klasse``, float32 (H, W) in [0, 1].

    The model must end in GlobalAveragePooling2D followed by Dense; the feature
    maps come from the layer named ``last_conv`` (or the last layer with 2-D maps).
    """
    return class_activation_maps(model, _one_image(images, img_num), [0], klasse)[0]


def class_activation_maps(
    model: keras.Model, images, indices, klasse: int, batch_size: int = 32
) -> np.ndarray:
    """The CAMs of ``images[i]`` for each ``i`` in ``indices``, float32 (n, H, W) in [0, 1].

    One feature model for all images, run batch by batch, instead of one model built
    per image (60 knees: 0.24 s instead of 0.49 s, the same maps).
    """
    _check_functional(model)
    chosen = [_one_image(images, int(i))[0] for i in indices]
    if not chosen:
        return np.zeros((0, *np.shape(images)[1:3]), np.float32)
    # The one-pass function on just the chosen images: the same maps, one batch loop to keep.
    _, maps = outputs_and_class_activation_maps(
        model, np.stack(chosen), range(len(chosen)), klasse, batch_size
    )
    return maps


def outputs_and_class_activation_maps(
    model: keras.Model, images, indices, klasse: int, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """The model's outputs for all ``images``, and the CAMs of ``images[i]``, ``i`` in ``indices``.

    One pass gives both: the outputs are ``model(x, training=False)``'s, the maps those
    of :func:`class_activation_maps`. The graders of Notebook 3's retraining need a
    model's classes on 400 knees and the CAMs of 100 of them, and a second pass over
    those cost 0.25 s per submission.
    """
    _check_functional(model)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    conv = _conv_layer(model, None)
    weights = _class_weights(model, klasse)
    both = keras.Model(_model_input(model), [conv.output, model.output])
    wanted = [_checked_index(int(i), len(images)) for i in indices]
    outputs, maps = [], {}
    for start in range(0, len(images), batch_size):
        feature_maps, output = both(images[start : start + batch_size], training=False)
        outputs.append(np.asarray(output))
        here = sorted({i for i in wanted if start <= i < start + len(outputs[-1])})
        if here:
            chosen = np.asarray(feature_maps)[[i - start for i in here]]
            maps.update(zip(here, _maps_of(conv, chosen, weights, images.shape[1:3]), strict=True))
    if not wanted:
        return np.concatenate(outputs), np.zeros((0, *images.shape[1:3]), np.float32)
    return np.concatenate(outputs), np.stack([maps[i] for i in wanted])


def _class_weights(model: keras.Model, klasse: int) -> np.ndarray:
    """The Dense head's weights of class ``klasse``: one per feature channel."""
    weights = _dense_head(model).get_weights()[0]
    _check_class(klasse, weights.shape[1])
    return weights[:, klasse]


def _maps_of(conv, feature_maps, weights: np.ndarray, size: tuple[int, int]) -> list[np.ndarray]:
    """CAMs from a batch of the feature maps of ``conv``, weighted by one class's ``weights``."""
    feature_maps = np.asarray(feature_maps)
    if feature_maps.shape[-1] != weights.shape[0]:
        raise CourseError(
            f"Layer {conv.name!r} has {feature_maps.shape[-1]} channels but the Dense layer "
            f"expects {weights.shape[0]}; CAM needs GAP directly before Dense."
        )
    return [_finish(raw, size) for raw in feature_maps @ weights]


def grad_cam(
    model: keras.Model, images, img_num: int, klasse: int, layer_name: str | None = None
) -> np.ndarray:
    """Grad-CAM of ``images[img_num]`` for class ``klasse``, float32 (H, W) in [0, 1].

    The class score is the Dense layer's output before softmax, as in the keras.io
    recipe; the model itself is not changed. ``layer_name`` picks the feature
    layer (default: ``last_conv`` or the last layer with 2-D maps).
    """
    _check_functional(model)
    image = _one_image(images, img_num)
    conv = _conv_layer(model, layer_name)
    dense = _dense_head(model)
    _check_class(klasse, dense.units)
    grad_model = keras.Model(_model_input(model), [conv.output, dense.input])
    with tf.GradientTape() as tape:
        feature_maps, head_input = grad_model(image, training=False)
        logits = tf.matmul(head_input, dense.kernel)
        if dense.use_bias:
            logits = logits + dense.bias
        score = logits[:, klasse]
    grads = tape.gradient(score, feature_maps)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    raw = (feature_maps[0] @ weights[:, None])[..., 0].numpy()
    return _finish(raw, image.shape[1:3])
