package io.rollout.env.sokoban;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SokobanEnvironmentTest {

    private static final double EPS = 1e-9;

    // Player, box and target in a row: two pushes right win.
    private static final SokobanLevel CORRIDOR = SokobanLevel.parse("""
            #######
            #P_X_O#
            #######
            """);

    private final SokobanEnvironment env = new SokobanEnvironment();

    @Test
    void shouldMoveThePlayerOntoAFreeCell() {
        env.start(CORRIDOR, 15);

        StepResult result = env.step("right");

        assertThat(result.observation().text()).isEqualTo(render("""
                #######
                #_PX_O#
                #######
                """));
        assertThat(result.reward()).isCloseTo(-0.1, within(EPS));
        assertThat(result.actionValid()).isTrue();
        assertThat(result.done()).isFalse();
        assertThat(result.won()).isFalse();
        assertThat(env.steps()).isEqualTo(1);
    }

    @Test
    void shouldCountWalkingIntoAWallAsAStepThatChangesNothing() {
        Observation start = env.start(CORRIDOR, 15);

        StepResult result = env.step("left");

        assertThat(result.observation()).isEqualTo(start);
        assertThat(result.reward()).isCloseTo(-0.1, within(EPS));
        assertThat(result.actionValid()).isTrue();
        assertThat(env.steps()).isEqualTo(1);
    }

    @Test
    void shouldNotPushABoxIntoAWall() {
        SokobanLevel level = SokobanLevel.parse("""
                ######
                #_PX##
                #_O__#
                ######
                """);
        env.start(level, 15);

        StepResult result = env.step("right");

        assertThat(env.level()).isEqualTo(level);
        assertThat(result.reward()).isCloseTo(-0.1, within(EPS));
        assertThat(result.actionValid()).isTrue();
        assertThat(env.steps()).isEqualTo(1);
    }

    @Test
    void shouldNotPushABoxIntoAnotherBox() {
        SokobanLevel level = SokobanLevel.parse("""
                #######
                #PXX_O#
                #__O__#
                #######
                """);
        env.start(level, 15);

        StepResult result = env.step("right");

        assertThat(env.level()).isEqualTo(level);
        assertThat(result.reward()).isCloseTo(-0.1, within(EPS));
        assertThat(result.actionValid()).isTrue();
        assertThat(env.steps()).isEqualTo(1);
    }

    @Test
    void shouldRewardABoxOntoATargetAndPenaliseItOff() {
        SokobanLevel level = SokobanLevel.parse("""
                #######
                #PXO__#
                #_O_X_#
                #######
                """);
        env.start(level, 15);

        StepResult onto = env.step("right");

        assertThat(onto.reward()).isCloseTo(-0.1 + 1, within(EPS));
        assertThat(onto.observation().text()).isEqualTo(render("""
                #######
                #_P√__#
                #_O_X_#
                #######
                """));
        assertThat(onto.done()).isFalse();

        StepResult off = env.step("right");

        assertThat(off.reward()).isCloseTo(-0.1 - 1, within(EPS));
        assertThat(off.observation().text()).isEqualTo(render("""
                #######
                #__SX_#
                #_O_X_#
                #######
                """));
        assertThat(off.done()).isFalse();
        assertThat(off.won()).isFalse();
    }

    @Test
    void shouldWinWhenEveryBoxIsOnATarget() {
        env.start(CORRIDOR, 15);
        env.step("right");
        env.step("right");

        StepResult win = env.step("right");

        assertThat(win.reward()).isCloseTo(-0.1 + 1 + 10, within(EPS));
        assertThat(win.done()).isTrue();
        assertThat(win.won()).isTrue();
        assertThat(win.actionValid()).isTrue();
        assertThat(win.observation().text()).isEqualTo(render("""
                #######
                #___P√#
                #######
                """));
    }

    @Test
    void shouldEndWithoutWinningAtTheStepLimit() {
        env.start(CORRIDOR, 2);

        StepResult first = env.step("left");
        StepResult second = env.step("right");

        assertThat(first.done()).isFalse();
        assertThat(second.done()).isTrue();
        assertThat(second.won()).isFalse();
        assertThat(second.reward()).isCloseTo(-0.1, within(EPS));
    }

    @Test
    void shouldTreatTextWithoutADirectionAsAnInvalidActionThatDoesNotCount() {
        Observation start = env.start(CORRIDOR, 1);

        StepResult invalid = env.step("I would rather think about it.");

        assertThat(invalid.actionValid()).isFalse();
        assertThat(invalid.reward()).isCloseTo(-0.1, within(EPS));
        assertThat(invalid.observation()).isEqualTo(start);
        assertThat(invalid.done()).isFalse();
        assertThat(invalid.won()).isFalse();
        assertThat(env.steps()).isZero();

        // max_steps=1: the invalid action did not use up the only step.
        StepResult valid = env.step("right");
        assertThat(valid.actionValid()).isTrue();
        assertThat(valid.done()).isTrue();
    }

    @Test
    void shouldApplyTheLastDirectionWordOfTheText() {
        env.start(CORRIDOR, 15);

        StepResult result = env.step("Left is a wall and Up too, so I go <action>Right</action>");

        assertThat(result.actionValid()).isTrue();
        assertThat(env.level().player()).isEqualTo(CORRIDOR.player() + 1);
    }

    @Test
    void shouldRefuseAStepAfterTheEpisodeIsDone() {
        env.start(CORRIDOR, 1);
        env.step("up");

        assertThatThrownBy(() -> env.step("right"))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.EPISODE_DONE));
    }

    @Test
    void shouldRefuseAStepBeforeReset() {
        assertThatThrownBy(() -> env.step("right"))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.NOT_STARTED));
    }

    @Test
    void shouldStartOverOnReset() {
        Observation first = env.reset(11, EnvConfig.empty());
        env.step("up");
        env.step("left");

        Observation again = env.reset(11, EnvConfig.empty());

        assertThat(again).isEqualTo(first);
        assertThat(again.anchor()).isEqualTo(again.text());
        assertThat(again.admissibleActions()).isEmpty();
        assertThat(env.steps()).isZero();
        assertThat(env.isDone()).isFalse();
        assertThat(env.name()).isEqualTo("sokoban");
    }

    @Test
    void shouldLeaveNoEpisodeRunningAfterAFailedReset() {
        env.start(CORRIDOR, 15);

        assertThatThrownBy(() -> env.reset(1, EnvConfig.of(Map.of("max_steps", "0"))))
                .isInstanceOf(EnvInputException.class);
        assertThatThrownBy(() -> env.step("right"))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.NOT_STARTED));
    }

    @Test
    void shouldRejectAnUnknownConfigKey() {
        assertThatThrownBy(() -> env.reset(1, EnvConfig.of(Map.of("dim_z", "6"))))
                .isInstanceOfSatisfying(EnvInputException.class,
                        e -> assertThat(e.kind()).isEqualTo(Kind.UNKNOWN_CONFIG_KEY));
    }

    @Test
    void shouldRejectOutOfRangeAndNonIntegerConfigValues() {
        for (Map<String, String> bad : List.of(
                Map.of("dim_x", "4"), Map.of("dim_y", "13"), Map.of("num_boxes", "0"), Map.of("num_boxes", "5"),
                Map.of("max_steps", "0"), Map.of("max_steps", "201"), Map.of("search_depth", "0"),
                Map.of("search_depth", "301"), Map.of("dim_x", "six"))) {
            assertThatThrownBy(() -> env.reset(1, EnvConfig.of(bad)))
                    .as("config %s", bad)
                    .isInstanceOfSatisfying(EnvInputException.class,
                            e -> assertThat(e.kind()).isEqualTo(Kind.BAD_CONFIG_VALUE));
        }
    }

    @Test
    void shouldRejectASeedOutOfRange() {
        assertThatThrownBy(() -> env.reset(-1, EnvConfig.empty()))
                .isInstanceOfSatisfying(EnvInputException.class,
                        e -> assertThat(e.kind()).isEqualTo(Kind.SEED_OUT_OF_RANGE));
    }

    @Test
    void shouldDescribeItsDefaultsInTheFactory() {
        SokobanFactory factory = new SokobanFactory();

        assertThat(factory.name()).isEqualTo("sokoban");
        assertThat(factory.description()).isNotBlank();
        assertThat(factory.configDefaults()).containsExactly(
                Map.entry("dim_x", "6"), Map.entry("dim_y", "6"), Map.entry("num_boxes", "1"),
                Map.entry("max_steps", "15"), Map.entry("search_depth", "30"), Map.entry("player_walk", "0"),
                Map.entry("min_solution", "0"));
        try (var created = factory.create()) {
            assertThat(created).isInstanceOf(SokobanEnvironment.class);
            assertThat(created.reset(3, EnvConfig.of(factory.configDefaults())))
                    .isEqualTo(created.reset(3, EnvConfig.empty()));
        }
    }

    @Test
    void shouldNameTheFirstMoveOfAShortestSolutionAsTheExpertAction() {
        assertThat(env.expertAction()).isEmpty();
        env.start(CORRIDOR, 10);

        assertThat(env.expertAction()).contains("right");
        env.step("left");
        assertThat(env.expertAction()).contains("right");
        env.step("right");
        env.step("right");
        env.step("right");

        assertThat(env.isDone()).isTrue();
        assertThat(env.expertAction()).isEmpty();
    }

    @Test
    void shouldSolveEveryHarderLevelByFollowingTheExpert() {
        EnvConfig harder = EnvConfig.of(Map.of("player_walk", "3", "min_solution", "3"));
        for (long seed = 0; seed < 50; seed++) {
            env.reset(seed, harder);
            StepResult last = null;
            while (!env.isDone()) {
                last = env.step(env.expertAction().orElseThrow());
            }
            assertThat(last.won()).as("seed %d", seed).isTrue();
            assertThat(env.steps()).as("seed %d", seed).isBetween(3, 15);
        }
    }

    /** The observation text of a level drawn with one symbol per cell. */
    static String render(String compact) {
        StringBuilder out = new StringBuilder();
        for (String row : compact.strip().split("\n")) {
            if (out.length() > 0) {
                out.append('\n');
            }
            for (char symbol : row.toCharArray()) {
                out.append(' ').append(symbol).append(" \t");
            }
        }
        return out.toString();
    }
}
