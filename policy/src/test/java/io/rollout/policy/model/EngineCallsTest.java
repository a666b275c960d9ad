package io.rollout.policy.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rollout.policy.TinyPolicies;
import java.lang.reflect.Field;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * How many arrays one cached decode step of the tiny model creates: each is one native call
 * (views and scalar operands included), which is what a tiny model's step time is made of.
 * Calls that create no array (the KV cache's in-place writes, freeing scalar operands) are
 * not counted.
 */
public class EngineCallsTest {

    /** Counts every array attached to a manager, including ones closed again before the end. */
    static final class CountingMap extends ConcurrentHashMap<String, AutoCloseable> {
        final AtomicInteger puts = new AtomicInteger();

        @Override
        public AutoCloseable put(String key, AutoCloseable value) {
            puts.incrementAndGet();
            return super.put(key, value);
        }

        @Override
        public AutoCloseable putIfAbsent(String key, AutoCloseable value) {
            puts.incrementAndGet();
            return super.putIfAbsent(key, value);
        }
    }

    static CountingMap count(NDManager manager) throws Exception {
        Field f = BaseNDManager.class.getDeclaredField("resources");
        f.setAccessible(true);
        CountingMap map = new CountingMap();
        f.set(manager, map);
        return map;
    }

    @Test
    void shouldMakeFewArraysPerDecodeStep() throws Exception {
        try (DecoderModel model = ModelLoader.load(TinyPolicies.tied(), Device.cpu(), DataType.FLOAT32);
                NDManager scope = model.manager().newSubManager()) {
            int batch = 8;
            int prompt = 16;
            KvCache cache = model.newCache(scope, batch, prompt + 1);
            NDArray ids = scope.ones(new Shape(batch, prompt + 1), DataType.INT64);
            NDArray pos = scope.arange(0L, (long) prompt + 1).toType(DataType.INT64, false)
                    .reshape(1, prompt + 1).repeat(0, batch);
            NDArray mask = scope.ones(new Shape(batch, prompt + 1), DataType.FLOAT32);
            NDIndex first = new NDIndex(":, :{}", prompt);
            model.hidden(ids.get(first), pos.get(first), mask.get(first), cache, null);
            int calls;
            try (NDManager step = scope.newSubManager()) {
                NDIndex last = new NDIndex(":, {}:{}", prompt, prompt + 1);
                NDArray stepIds = ids.get(last);
                NDArray stepPos = pos.get(last);
                NDArray stepMask = mask.duplicate();
                stepIds.attach(step);
                stepPos.attach(step);
                stepMask.attach(step);
                CountingMap counter = count(step);
                NDArray hidden = model.hidden(stepIds, stepPos, stepMask, cache, null);
                model.logits(hidden.get(new NDIndex(":, -1:, :")));
                calls = counter.puts.get();
            }
            System.out.printf("arrays created by one decode step (%d layers): %d%n", model.config().numLayers(), calls);
            // 134 before the rotary tables, model-owned scalars and the decode-step layout; a
            // rise means something put native calls back on the per-step path.
            assertThat(calls).isLessThanOrEqualTo(109);
        }
    }
}
