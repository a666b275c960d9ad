package io.rollout.learner.advantage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class BoundedRocksDbMemoryTest {

    @Test
    void shouldReadTheBudgetInBytes() {
        assertThat(BoundedRocksDbMemory.budget(Map.of(BoundedRocksDbMemory.BUDGET_CONFIG, " 67108864 ")))
                .isEqualTo(64L << 20);
    }

    @Test
    void shouldRefuseAMissingOrTinyBudget() {
        assertThatThrownBy(() -> BoundedRocksDbMemory.budget(Map.of()))
                .hasMessageContaining("is not set");
        assertThatThrownBy(() -> BoundedRocksDbMemory.budget(Map.of(BoundedRocksDbMemory.BUDGET_CONFIG, "1024")))
                .hasMessageContaining("at least 8 MiB");
    }
}
