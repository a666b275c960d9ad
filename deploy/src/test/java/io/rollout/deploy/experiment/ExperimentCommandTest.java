package io.rollout.deploy.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.deploy.local.LocalCommand;
import io.rollout.deploy.warmstart.WarmStartSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExperimentCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldShareTheLocalRunsDefaultWarmStart() {
        WarmStartSpec spec = LocalCommand.defaultWarmStartSpec();

        assertThat(spec.env()).isEqualTo("sokoban");
        assertThat(spec.envConfig()).containsEntry("player_walk", "3").containsEntry("min_solution", "3");
        assertThat(spec.format()).isEqualTo("compact");
        assertThat(spec.seed()).isZero();
    }

    @Test
    void shouldTakeLateTrainingSuccessOverTheLastFifthOfTheVersionsWeightedByEpisodes() throws Exception {
        JsonNode report = JSON.readTree("""
                {"versions": [
                  {"version": 0, "success_rate": 0.0, "episodes": 10},
                  {"version": 5, "success_rate": 0.2, "episodes": 10},
                  {"version": 8, "success_rate": 0.5, "episodes": 30},
                  {"version": 9, "success_rate": null, "episodes": 0},
                  {"version": 10, "success_rate": 1.0, "episodes": 10}
                ]}""");

        assertThat(ExperimentCommand.lateTrainingSuccess(report)).isEqualTo((0.5 * 30 + 1.0 * 10) / 40);
    }

    @Test
    void shouldTabulateMeanAndSpreadPerArm() throws Exception {
        JsonNode report = JSON.readTree("{\"versions\": []}");
        List<ExperimentCommand.Outcome> outcomes = List.of(
                new ExperimentCommand.Outcome(new ExperimentCommand.Arm("a-s0", "A", 1, 0, List.of()), 0.5, 0.3, 0.6,
                        report),
                new ExperimentCommand.Outcome(new ExperimentCommand.Arm("a-s1", "A", 1, 1, List.of()), 0.7, 0.3, 0.8,
                        report),
                new ExperimentCommand.Outcome(new ExperimentCommand.Arm("b-s0", "B", 0, 0, List.of()), 0.4, 0.3, 0.4,
                        report));

        String table = ExperimentCommand.table(outcomes);

        assertThat(table).contains("| A | 1 | 2 | 0.600 | 0.500-0.700 | 0.141 | 0.300 | 0.700 | +0.100 |");
        assertThat(table).contains("| B | 0 | 1 | 0.400 | 0.400-0.400 | 0.000 | 0.300 | 0.400 | +0.000 |");
    }
}
