package io.rollout.env.sokoban;

import static io.rollout.env.sokoban.SokobanEnvironmentTest.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.StepResult;
import java.time.Duration;
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

    @Test
    void shouldRefuseAConfigWhoseLevelCostsMoreSearchThanTheBudget() {
        // The largest valid settings with the longest minimum solution: no try ever succeeds, and
        // each explored up to 1.3M states, 200 times over (about a minute per create).
        Map<String, String> hostile = Map.of("dim_x", "12", "dim_y", "12", "num_boxes", "4", "max_steps", "200",
                "search_depth", "300", "player_walk", "10", "min_solution", "200");
        SokobanEnvironment env = new SokobanEnvironment();

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThatThrownBy(
                () -> env.reset(0, EnvConfig.of(hostile)))
                .isInstanceOfSatisfying(EnvInputException.class,
                        e -> assertThat(e.kind()).isEqualTo(Kind.CONFIG_TOO_EXPENSIVE))
                .hasMessageContaining("needs more than " + SokobanGenerator.DEFAULT_STATE_BUDGET + " search states"));
        assertThat(env.level()).as("a refused reset leaves no episode").isNull();
    }

    @Test
    void shouldGiveTheSameLevelUnderABudgetOrRefuseIt() {
        SokobanConfig big = new SokobanConfig(10, 10, 3, 100, 100);
        SokobanGenerator unbounded = new SokobanGenerator(Long.MAX_VALUE);
        SokobanGenerator small = new SokobanGenerator(5_000);
        int refused = 0;
        for (long s = 0; s < 20; s++) {
            long seed = s;
            String level = unbounded.generate(seed, big).toString();
            long needed = unbounded.statesUsed();
            if (needed <= 5_000) {
                assertThat(small.generate(seed, big).toString()).as("seed %d", seed).isEqualTo(level);
            } else {
                refused++;
                assertThatThrownBy(() -> small.generate(seed, big)).as("seed %d", seed)
                        .isInstanceOfSatisfying(EnvInputException.class,
                                e -> assertThat(e.kind()).isEqualTo(Kind.CONFIG_TOO_EXPENSIVE));
                assertThat(small.statesUsed()).isLessThanOrEqualTo(5_000);
            }
        }
        assertThat(refused).as("seeds over the budget").isBetween(1, 19);
    }

    private static final Map<String, String> HARDER = Map.of("player_walk", "3", "min_solution", "3");

    @Test
    void shouldGenerateTheSameHarderLevelForTheSameSeed() {
        SokobanConfig harder = SokobanConfig.from(EnvConfig.of(HARDER));
        SokobanGenerator one = new SokobanGenerator();
        SokobanGenerator other = new SokobanGenerator();
        for (long seed : new long[] {0, 7, 1_000_000_000L, (1L << 53) - 1}) {
            String first = one.generate(seed, harder).toString();
            // The same generator after another config, and a fresh one, give the same level.
            one.generate(seed + 1, DEFAULTS);

            assertThat(one.generate(seed, harder).toString()).as("seed %d", seed).isEqualTo(first);
            assertThat(other.generate(seed, harder).toString()).as("seed %d", seed).isEqualTo(first);
        }
    }

    @Test
    void shouldMakeEveryHarderLevelSolvableWithinMaxStepsAndNoShorterThanMinSolution() {
        SokobanConfig harder = SokobanConfig.from(EnvConfig.of(HARDER));
        SokobanGenerator generator = new SokobanGenerator();
        SokobanSolver solver = new SokobanSolver();
        for (long seed = 1_000_000_000L; seed < 1_000_000_300L; seed++) {
            int moves = solver.shortestSolutionLength(generator.generate(seed, harder), harder.maxSteps())
                    .orElseThrow(() -> new AssertionError("unsolvable"));

            assertThat(moves).isBetween(3, harder.maxSteps());
        }
        assertSolvableByReplay(EnvConfig.of(HARDER), harder, 100);
    }

    // The walk moves the player away from the box it pulled last in about half of the levels:
    // without it the player always starts next to a box.
    @Test
    void shouldWalkThePlayerAwayFromTheBoxesInSomeLevels() {
        SokobanConfig walk = SokobanConfig.from(EnvConfig.of(Map.of("player_walk", "3")));
        SokobanGenerator generator = new SokobanGenerator();
        int apart = 0;
        int plainApart = 0;
        for (long seed = 0; seed < 200; seed++) {
            apart += nextToABox(generator.generate(seed, walk)) ? 0 : 1;
            plainApart += nextToABox(generator.generate(seed, DEFAULTS)) ? 0 : 1;
        }

        assertThat(plainApart).isZero();
        assertThat(apart).isBetween(40, 160);
    }

    @Test
    void shouldRefuseAMinimumSolutionLongerThanMaxSteps() {
        assertThatThrownBy(() -> SokobanConfig.from(EnvConfig.of(Map.of("min_solution", "16"))))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.BAD_CONFIG_VALUE))
                .hasMessageContaining("min_solution=16").hasMessageContaining("max_steps=15");
        assertThatThrownBy(() -> SokobanConfig.from(EnvConfig.of(Map.of("player_walk", "11"))))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.BAD_CONFIG_VALUE))
                .hasMessageContaining("player_walk");
    }

    @Test
    void shouldMeasureHarderLevelsAsHarderForARandomMover() {
        LevelStats plain = LevelStats.measure(DEFAULTS, 1_000_000_000L, 100, 10, 0);
        LevelStats harder = LevelStats.measure(SokobanConfig.from(EnvConfig.of(HARDER)), 1_000_000_000L, 100, 10, 0);

        assertThat(plain.solutionLengths().values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(100);
        assertThat(harder.solutionLengths().keySet()).allMatch(moves -> moves >= 3);
        assertThat(harder.meanSolution()).isGreaterThan(plain.meanSolution() + 1);
        assertThat(harder.randomSuccess()).isLessThan(plain.randomSuccess() / 2);
        assertThat(harder.shareAtLeast(3)).isEqualTo(1.0);
        assertThat(LevelStats.measure(DEFAULTS, 1_000_000_000L, 100, 10, 0)).isEqualTo(plain);
    }

    private static boolean nextToABox(SokobanLevel level) {
        for (Direction d : Direction.values()) {
            if (level.hasBox(level.neighbour(level.player(), d))) {
                return true;
            }
        }
        return false;
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
