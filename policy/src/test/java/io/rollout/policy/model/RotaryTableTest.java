package io.rollout.policy.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rollout.policy.TinyPolicies;
import io.rollout.policy.tiny.TinyModelSpec;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The precomputed rotary tables against the angles a pass used to compute. */
public class RotaryTableTest {

    @Test
    void shouldHoldTheCosAndSinOfEveryPositionUpToMaxPositions() {
        try (DecoderModel model = ModelLoader.load(TinyPolicies.tied(), Device.cpu(), DataType.FLOAT32);
                NDManager scope = model.manager().newSubManager()) {
            int rows = model.config().maxPositions();
            int hd = model.config().headDim();
            NDArray[] tables = model.rotaryTables();
            assertThat(tables[0].getShape()).isEqualTo(new Shape(rows, hd));
            assertThat(tables[1].getShape()).isEqualTo(new Shape(rows, hd));
            assertThat(tables[0].getManager()).isSameAs(model.manager());
            float[] cos = tables[0].toFloatArray();
            float[] sin = tables[1].toFloatArray();

            // The same numbers as the per-pass computation (engine ops) ...
            long[] all = new long[rows];
            for (int p = 0; p < rows; p++) {
                all[p] = p;
            }
            NDArray[] computed = model.rotary(scope.create(all, new Shape(1, rows)));
            assertThat(maxDiff(computed[0].toFloatArray(), cos)).isLessThan(1e-6);
            assertThat(maxDiff(computed[1].toFloatArray(), sin)).isLessThan(1e-6);

            // ... and as Hugging Face's: angle = float32(position * inv_freq), halves repeated.
            float[] inv = RotaryFrequencies.inverseFrequencies(model.config());
            double worst = 0;
            for (int p = 0; p < rows; p++) {
                for (int j = 0; j < hd; j++) {
                    float angle = (float) p * inv[j % (hd / 2)];
                    worst = Math.max(worst, Math.abs(cos[p * hd + j] - Math.cos(angle)));
                    worst = Math.max(worst, Math.abs(sin[p * hd + j] - Math.sin(angle)));
                }
            }
            assertThat(worst).isLessThan(1e-6);
        }
    }

    @Test
    void shouldGiveTheSameHiddenStatesBeyondTheTableAsWithin() {
        // A model with more positions than the table holds computes the angles of long passes.
        Path dir = TinyPolicies.write("long", TinyModelSpec.defaults().withMaxPositions(DecoderModel.MAX_TABLE_ROWS + 8), 3);
        try (DecoderModel model = ModelLoader.load(dir, Device.cpu(), DataType.FLOAT32);
                NDManager scope = model.manager().newSubManager()) {
            assertThat(model.rotaryTables()[0].getShape().get(0)).isEqualTo(DecoderModel.MAX_TABLE_ROWS);
            int t = 12;
            long[] pos = new long[t];
            for (int i = 0; i < t; i++) {
                pos[i] = i;
            }
            NDArray ids = scope.create(new long[] {5, 9, 3, 7, 11, 2, 8, 4, 6, 10, 1, 12}, new Shape(1, t));
            NDArray positions = scope.create(pos, new Shape(1, t));
            // Within the table: t key slots.
            float[] gathered = model.hidden(ids, positions, scope.ones(new Shape(1, t)), null, null).toFloatArray();
            // Beyond it: the same tokens after a block of padding key slots the table does not cover.
            int pad = DecoderModel.MAX_TABLE_ROWS;
            KvCache cache = model.newCache(scope, 1, pad + t);
            cache.advance(pad); // zero keys and values, masked below
            NDArray mask = scope.zeros(new Shape(1, pad)).concat(scope.ones(new Shape(1, t)), 1);
            float[] computed = model.hidden(ids, positions, mask, cache, null).toFloatArray();
            assertThat(maxDiff(gathered, computed)).isLessThan(1e-5);
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
