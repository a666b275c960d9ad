package io.rollout.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Engines#threads}: what it sets, and that a value the user set wins. Restores the properties. */
class EnginesTest {

    private String intra;
    private String inter;

    @BeforeEach
    void save() {
        intra = System.getProperty(Engines.INTRA_OP_THREADS);
        inter = System.getProperty(Engines.INTER_OP_THREADS);
        System.clearProperty(Engines.INTRA_OP_THREADS);
        System.clearProperty(Engines.INTER_OP_THREADS);
    }

    @AfterEach
    void restore() {
        put(Engines.INTRA_OP_THREADS, intra);
        put(Engines.INTER_OP_THREADS, inter);
    }

    private static void put(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    @Test
    void shouldGiveEachCallerItsShareOfTheCores() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertThat(Engines.threads(0, 1)).isEqualTo(String.valueOf(cores));
        System.clearProperty(Engines.INTRA_OP_THREADS);
        assertThat(Engines.threads(0, 3)).isEqualTo(String.valueOf(Math.max(1, cores / 3)));
        System.clearProperty(Engines.INTRA_OP_THREADS);
        assertThat(Engines.threads(0, cores * 4)).isEqualTo("1");
        assertThat(System.getProperty(Engines.INTRA_OP_THREADS)).isEqualTo("1");
        assertThat(System.getProperty(Engines.INTER_OP_THREADS)).isEqualTo("1");
    }

    @Test
    void shouldTakeAnExplicitCount() {
        assertThat(Engines.threads(5, 3)).isEqualTo("5");
        assertThat(System.getProperty(Engines.INTRA_OP_THREADS)).isEqualTo("5");
    }

    @Test
    void shouldLeaveWhatTheUserSet() {
        System.setProperty(Engines.INTRA_OP_THREADS, "7");
        System.setProperty(Engines.INTER_OP_THREADS, "2");
        assertThat(Engines.threads(1, 2)).isEqualTo("7");
        assertThat(System.getProperty(Engines.INTRA_OP_THREADS)).isEqualTo("7");
        assertThat(System.getProperty(Engines.INTER_OP_THREADS)).isEqualTo("2");
    }

    @Test
    void shouldRefuseNegativeThreadsAndNoCallers() {
        assertThatThrownBy(() -> Engines.threads(-1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Engines.threads(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
