package io.rollout.policy.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Scalar operands that survive until the backward pass.
 *
 * <p>DJL's {@code mul(Number)} and {@code div(Number)} wrap the number in an array backed by a
 * direct buffer and close that array right after the operation. Autograd keeps the operand
 * for the backward pass, but nothing keeps the buffer: once the garbage collector frees it,
 * the backward pass reads freed memory and gradients turn into garbage or NaN, depending on
 * GC timing. Anything on a differentiable path multiplies by {@link #of} instead, which
 * lives in the operand's manager (the step's scope) until that scope closes.
 */
public final class Scalars {

    private Scalars() {}

    /** A 0-dimensional array holding {@code value}, in {@code like}'s manager and dtype. */
    public static NDArray of(NDArray like, double value) {
        NDManager manager = like.getManager();
        DataType type = like.getDataType();
        NDArray scalar = type == DataType.FLOAT64 ? manager.create(value) : manager.create((float) value);
        return scalar.toType(type, false);
    }
}
