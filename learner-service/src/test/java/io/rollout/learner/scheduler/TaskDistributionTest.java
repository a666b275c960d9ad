package io.rollout.learner.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TaskDistributionTest {

    @Test
    void shouldParseEveryKeyOfASpec() {
        TaskDistribution d = TaskDistribution.parse(List.of(
                "env=sokoban,seeds=0-100000,group-size=8,max-steps=20,weight=1,config.dim_room=6,config.num_boxes=1",
                " env = webshop , weight = 2.5 "));

        assertThat(d.sources()).containsExactly(
                new TaskSource("sokoban", Map.of("dim_room", "6", "num_boxes", "1"), 0, 100000, 8, 20, 1.0),
                new TaskSource("webshop", Map.of(), 0, 1_000_000_000L, 8, 20, 2.5));
    }

    @Test
    void shouldNameTheKeyAtFault() {
        assertBad("env=sokoban,colour=red", "colour");
        assertBad("seeds=0-10", "env is required");
        assertBad("env=sokoban,group-size=0", "group-size");
        assertBad("env=sokoban,group-size=eight", "group-size");
        assertBad("env=sokoban,max-steps=-1", "max-steps");
        assertBad("env=sokoban,group-size=5000", "group-size must be at most 4096");
        assertBad("env=sokoban,max-steps=20000", "max-steps must be at most 10000");
        assertBad("env=sokoban,weight=0", "weight");
        assertBad("env=sokoban,weight=NaN", "weight");
        assertBad("env=sokoban,seeds=10-10", "seeds");
        assertBad("env=sokoban,seeds=10", "seeds");
        assertBad("env=sokoban,config.=3", "config.");
        assertBad("env=sokoban,env=babyai", "env is given twice");
        assertBad("env=sokoban,max-steps", "'max-steps' is not key=value");
        assertThatThrownBy(() -> TaskDistribution.parse(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    private static void assertBad(String spec, String named) {
        assertThatThrownBy(() -> TaskDistribution.parse(List.of(spec)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(named)
                .hasMessageContaining(spec);
    }

    @Test
    void shouldValidateSourcesNamingTheField() {
        assertThatThrownBy(() -> new TaskSource(" ", Map.of(), 0, 1, 1, 1, 1)).hasMessageContaining("env");
        assertThatThrownBy(() -> new TaskSource("e", Map.of(), -1, 1, 1, 1, 1)).hasMessageContaining("seedFrom");
        assertThatThrownBy(() -> new TaskSource("e", Map.of(), 5, 5, 1, 1, 1)).hasMessageContaining("seedTo");
        assertThatThrownBy(() -> new TaskSource("e", Map.of(), 0, 1, 0, 1, 1)).hasMessageContaining("groupSize");
        assertThatThrownBy(() -> new TaskSource("e", Map.of(), 0, 1, 1, 0, 1)).hasMessageContaining("maxSteps");
        assertThatThrownBy(() -> new TaskSource("e", Map.of(), 0, 1, 1, 1, Double.POSITIVE_INFINITY))
                .hasMessageContaining("weight");
    }

    @Test
    void shouldDrawTheSameTaskForTheSameRunSeedAndIndexInAnyOrder() {
        List<String> specs = List.of("env=a,seeds=0-1000000,weight=1", "env=b,seeds=5-9,weight=2");
        TaskDistribution first = TaskDistribution.parse(specs);
        TaskDistribution second = TaskDistribution.parse(specs);

        for (long i = 0; i < 200; i++) {
            long backwards = 199 - i;
            assertThat(second.draw(42, backwards)).isEqualTo(first.draw(42, backwards));
        }
        List<TaskDraw> run42 = new ArrayList<>();
        List<TaskDraw> run43 = new ArrayList<>();
        for (long i = 0; i < 50; i++) {
            run42.add(first.draw(42, i));
            run43.add(first.draw(43, i));
        }
        assertThat(run43).isNotEqualTo(run42);
        assertThat(new HashSet<>(run42)).hasSizeGreaterThan(20);
    }

    @Test
    void shouldDrawSeedsInsideTheRangeCoveringAllOfIt() {
        TaskDistribution d = TaskDistribution.parse(List.of("env=a,seeds=10-20"));
        Set<Long> seen = new HashSet<>();
        for (long i = 0; i < 2000; i++) {
            long seed = d.draw(7, i).seed();
            assertThat(seed).isBetween(10L, 19L);
            seen.add(seed);
        }
        assertThat(seen).hasSize(10);

        TaskDistribution wide = TaskDistribution.parse(List.of("env=a,seeds=0-9223372036854775807"));
        for (long i = 0; i < 1000; i++) {
            assertThat(wide.draw(7, i).seed()).isNotNegative();
        }
    }

    @Test
    void shouldRespectWeightsOverManyDraws() {
        TaskDistribution d = TaskDistribution.parse(List.of("env=a,weight=1", "env=b,weight=3", "env=c,weight=0.5"));
        int n = 45_000;
        Map<String, Integer> counts = new HashMap<>();
        for (long i = 0; i < n; i++) {
            counts.merge(d.draw(2024, i).source().env(), 1, Integer::sum);
        }

        assertThat(counts.get("a") / (double) n).isCloseTo(1 / 4.5, within(0.01));
        assertThat(counts.get("b") / (double) n).isCloseTo(3 / 4.5, within(0.01));
        assertThat(counts.get("c") / (double) n).isCloseTo(0.5 / 4.5, within(0.01));
    }
}
