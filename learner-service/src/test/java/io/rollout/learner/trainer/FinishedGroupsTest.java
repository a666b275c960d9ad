package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FinishedGroupsTest {

    @Test
    void shouldKeepSchedulerIdsAsRangesAndOtherIdsVerbatim() {
        FinishedGroups f = new FinishedGroups();
        for (int i = 0; i < 1000; i++) {
            if (i != 500) {
                assertThat(f.add(String.format("run-a-%08d", i))).isTrue();
            }
        }
        f.add("custom");
        f.add("run-a-7");
        assertThat(f.entries()).as("[0,499], [501,999], two verbatim ids").isEqualTo(4);
        assertThat(f.contains("run-a-00000499")).isTrue();
        assertThat(f.contains("run-a-00000500")).isFalse();
        assertThat(f.contains("run-b-00000499")).isFalse();
        assertThat(f.contains("run-a-0000000499")).as("another spelling is another id").isFalse();
        assertThat(f.add("run-a-00000010")).isFalse();
        f.add("run-a-00000500");
        assertThat(f.entries()).isEqualTo(3);
        assertThat(f.contains("run-a-7")).isTrue();
        assertThat(f.contains("custom")).isTrue();
    }

    @Test
    void shouldMatchASetUnderRandomInsertionAndSurviveAJsonRoundTrip() throws Exception {
        SplittableRandom random = new SplittableRandom(11);
        FinishedGroups f = new FinishedGroups();
        java.util.Set<String> reference = new java.util.HashSet<>();
        for (int i = 0; i < 5000; i++) {
            String id = String.format("r%d-%08d", random.nextInt(2), random.nextInt(3000));
            assertThat(f.add(id)).isEqualTo(reference.add(id));
        }
        ObjectMapper json = new ObjectMapper();
        FinishedGroups back = FinishedGroups.restore(
                json.readValue(json.writeValueAsString(f.snapshot()), FinishedGroups.Snapshot.class));
        for (int r = 0; r < 2; r++) {
            for (int i = 0; i < 3000; i++) {
                String id = String.format("r%d-%08d", r, i);
                assertThat(back.contains(id)).as(id).isEqualTo(reference.contains(id));
            }
        }
        assertThat(back.entries()).isEqualTo(f.entries());
        assertThat(FinishedGroups.restore(new FinishedGroups.Snapshot(null, List.of("x"))).contains("x")).isTrue();
    }
}
