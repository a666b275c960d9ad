package io.rollout.actor.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PartitionProgressTest {

    private final Set<String> done = new HashSet<>();
    private final PartitionProgress<String> progress = new PartitionProgress<>(10, done::contains);

    @Test
    void shouldCommitOnlyUpToTheOldestTaskNotDone() {
        progress.add(10, "a");
        progress.add(11, "b");
        progress.add(13, "c"); // offsets need not be contiguous (transaction markers)
        assertThat(progress.frontier()).isEmpty();

        done.add("b");
        done.add("c");
        assertThat(progress.frontier()).as("b and c are done but a, older, is not").isEmpty();

        done.add("a");
        assertThat(progress.frontier()).isEqualTo(OptionalLong.of(14));
    }

    @Test
    void shouldForgetWhatACommitCovers() {
        progress.add(10, "a");
        progress.add(11, "b");
        progress.add(12, "c");
        done.add("a");
        done.add("c");
        assertThat(progress.frontier()).isEqualTo(OptionalLong.of(11));

        progress.committed(11);
        assertThat(progress.committedOffset()).isEqualTo(11);
        assertThat(progress.pending()).containsExactly("b", "c");
        assertThat(progress.notDone()).containsExactly("b");
        assertThat(progress.frontier()).isEmpty();

        done.add("b");
        progress.committed(progress.frontier().orElseThrow());
        assertThat(progress.isEmpty()).isTrue();
        assertThat(progress.committedOffset()).isEqualTo(13);
    }

    @Test
    void shouldRefuseTasksOutOfOrderAndCommitsGoingBack() {
        progress.add(12, "a");
        assertThatThrownBy(() -> progress.add(12, "again")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> progress.add(11, "older")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PartitionProgress<String>(5, done::contains).add(4, "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> progress.committed(9)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PartitionProgress<String>(-1, done::contains))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
