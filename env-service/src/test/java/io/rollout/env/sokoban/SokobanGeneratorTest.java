package io.rollout.env.sokoban;

import static io.rollout.env.sokoban.SokobanEnvironmentTest.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.StepResult;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SokobanGeneratorTest {

    private static final SokobanConfig DEFAULTS = SokobanConfig.defaults();
    private static final SokobanConfig SEVEN_BY_SEVEN_TWO_BOXES = new SokobanConfig(7, 7, 2, 15, 30);

    @Test
    void shouldGenerateTheSameLevelForTheSameSeed() {
        SokobanGenerator one = new SokobanGenerator();
        SokobanGenerator other = new SokobanGenerator();
        for (long seed : new long[] {0, 1, 99, 123_456_789, (1L << 53) - 1}) {
            String first = one.generate(seed, DEFAULTS).toString();

            assertThat(one.generate(seed, DEFAULTS).toString()).as("seed %d, same generator", seed).isEqualTo(first);
            assertThat(other.generate(seed, DEFAULTS).toString()).as("seed %d, other generator", seed).isEqualTo(first);
        }
    }

    @Test
    void shouldGenerateMostlyDifferentLevelsForDifferentSeeds() {
        SokobanGenerator generator = new SokobanGenerator();
        Set<String> levels = new HashSet<>();
        for (long seed = 0; seed < 100; seed++) {
            levels.add(generator.generate(seed, DEFAULTS).toString());
        }

        assertThat(levels).hasSizeGreaterThan(90);
    }

    // Pins the generator: a change to any random draw or search order shows up here.
    @Test
    void shouldKeepTheGoldenLevelsOfTheDefaultConfig() {
        SokobanEnvironment env = new SokobanEnvironment();

        assertThat(env.reset(0, EnvConfig.empty()).text()).isEqualTo(render("""
                ######
                ######
                ######
                #___##
                #PX_O#
                ######
                """));
        assertThat(env.reset(1, EnvConfig.empty()).text()).isEqualTo(render("""
                ######
                #____#
                #PX__#
                #___O#
                ####_#
                ######
                """));
    }

    @Test
    void shouldMakeEveryDefaultLevelSolvableWithinMaxSteps() {
        assertSolvableByReplay(EnvConfig.empty(), DEFAULTS, 300);
    }

    @Test
    void shouldMakeEverySevenBySevenTwoBoxLevelSolvableWithinMaxSteps() {
        assertSolvableByReplay(EnvConfig.of(SEVEN_BY_SEVEN_TWO_BOXES.asMap()), SEVEN_BY_SEVEN_TWO_BOXES, 50);
    }

    @Test
    void shouldBuildLevelsOfTheConfiguredShapeWithEveryBoxOffTarget() {
        SokobanConfig config = new SokobanConfig(9, 7, 3, 40, 60);
        SokobanGenerator generator = new SokobanGenerator();
        for (long seed = 0; seed < 20; seed++) {
            SokobanLevel level = generator.generate(seed, config);

            assertThat(level.rows()).isEqualTo(9);
            assertThat(level.cols()).isEqualTo(7);
            assertThat(level.boxCount()).isEqualTo(3);
            assertThat(level.boxesOnTarget()).isZero();
            assertThat(level.isTarget(level.player())).isFalse();
        }
    }

    @Test
    void shouldFailClearlyWhenTheConfigCannotYieldALevel() {
        SokobanGenerator generator = new SokobanGenerator();

        assertThatThrownBy(() -> generator.generate(1, new SokobanConfig(6, 6, 4, 3, 30)))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.BAD_CONFIG_VALUE))
                .hasMessageContaining("num_boxes=4");
        // Four boxes off their targets in a 3x3 interior, within 15 moves: never happens.
        assertThatThrownBy(() -> new SokobanEnvironment().reset(1, EnvConfig.of(Map.of(
                "dim_x", "5", "dim_y", "5", "num_boxes", "4"))))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.BAD_CONFIG_VALUE))
                .hasMessageContaining("tries");
    }

    /** Solves each level with the solver and replays the moves as text through the environment. */
    private static void assertSolvableByReplay(EnvConfig envConfig, SokobanConfig config, int seeds) {
        SokobanEnvironment env = new SokobanEnvironment();
        SokobanSolver solver = new SokobanSolver();
        for (long seed = 0; seed < seeds; seed++) {
            env.reset(seed, envConfig);
            List<Direction> solution = solver.solve(env.level(), config.maxSteps()).orElseThrow(
                    () -> new AssertionError("no solution within max_steps for seed " + env.level()));

            StepResult last = null;
            for (Direction move : solution) {
                last = env.step("I will move " + move.word().toUpperCase());
            }

            assertThat(solution).as("seed %d", seed).isNotEmpty().hasSizeLessThanOrEqualTo(config.maxSteps());
            assertThat(last.won()).as("seed %d", seed).isTrue();
            assertThat(last.done()).as("seed %d", seed).isTrue();
        }
    }
}
