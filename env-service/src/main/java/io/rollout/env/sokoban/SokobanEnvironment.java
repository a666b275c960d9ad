package io.rollout.env.sokoban;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.Environment;
import io.rollout.env.Observation;
import io.rollout.env.Seeds;
import io.rollout.env.StepResult;
import java.util.Objects;
import java.util.Optional;

/**
 * Text Sokoban with verl-agent's rules and rewards: each valid action costs 0.1, pushing a box
 * onto a target earns 1, off a target costs 1, and solving earns 10 more (the winning push gives
 * -0.1 + 1 + 10). The action is the last direction word in the agent's text (see
 * {@link Direction#lastMentionedIn}); text without one is an invalid action that costs 0.1 but
 * neither moves nor counts toward {@code max_steps}. A blocked move is valid and counts. The
 * episode is done when solved (won) or after {@code max_steps} valid actions.
 * One episode at a time, one caller: not thread-safe.
 */
public final class SokobanEnvironment implements Environment {

    public static final double STEP_PENALTY = -0.1;
    public static final double BOX_ON_TARGET_REWARD = 1.0;
    public static final double BOX_OFF_TARGET_PENALTY = -1.0;
    public static final double SOLVED_REWARD = 10.0;

    private final SokobanGenerator generator;
    private SokobanSolver solver;
    private SokobanLevel level;
    private Observation observation;
    private int maxSteps;
    private int steps;
    private boolean done;

    public SokobanEnvironment() {
        this(new SokobanGenerator());
    }

    public SokobanEnvironment(SokobanGenerator generator) {
        this.generator = Objects.requireNonNull(generator, "generator");
    }

    @Override
    public String name() {
        return SokobanFactory.NAME;
    }

    @Override
    public Observation reset(long seed, EnvConfig config) {
        // A failed reset must not leave the previous episode running.
        level = null;
        Seeds.check(seed);
        SokobanConfig settings = SokobanConfig.from(config);
        return start(generator.generate(seed, settings), settings.maxSteps());
    }

    /** Starts an episode on a given level (hand-built levels in tests, benchmarks). */
    public Observation start(SokobanLevel start, int maxSteps) {
        if (maxSteps < 1) {
            throw new IllegalArgumentException("maxSteps must be positive, got " + maxSteps);
        }
        this.level = Objects.requireNonNull(start, "start");
        this.maxSteps = maxSteps;
        this.steps = 0;
        this.done = false;
        this.observation = Observation.ofState(SokobanRenderer.render(start));
        return observation;
    }

    @Override
    public StepResult step(String action) {
        if (level == null) {
            throw new EnvInputException(Kind.NOT_STARTED, "no Sokoban episode: call reset first");
        }
        if (done) {
            throw new EnvInputException(Kind.EPISODE_DONE,
                    "the Sokoban episode is over after " + steps + " steps; call reset to start another");
        }
        Optional<Direction> direction = Direction.lastMentionedIn(action);
        if (direction.isEmpty()) {
            return new StepResult(observation, STEP_PENALTY, false, false, false);
        }
        int onTargetBefore = level.boxesOnTarget();
        SokobanLevel next = level.move(direction.get());
        steps++;
        // Added in gym-sokoban's order, so the sums match its floating-point rewards exactly.
        double reward = STEP_PENALTY;
        int onTargetAfter = next.boxesOnTarget();
        if (onTargetAfter > onTargetBefore) {
            reward += BOX_ON_TARGET_REWARD;
        } else if (onTargetAfter < onTargetBefore) {
            reward += BOX_OFF_TARGET_PENALTY;
        }
        boolean won = next.isSolved();
        if (won) {
            reward += SOLVED_REWARD;
        }
        done = won || steps >= maxSteps;
        if (next != level) {
            level = next;
            observation = Observation.ofState(SokobanRenderer.render(next));
        }
        return new StepResult(observation, reward, done, won, true);
    }

    /** The first move of a shortest solution from the current position, by breadth-first search. */
    @Override
    public Optional<String> expertAction() {
        if (level == null || done) {
            return Optional.empty();
        }
        if (solver == null) {
            solver = new SokobanSolver();
        }
        return solver.solve(level, maxSteps - steps).filter(path -> !path.isEmpty()).map(path -> path.get(0).word());
    }

    /** The current position, or null before the first reset. */
    public SokobanLevel level() {
        return level;
    }

    /** Valid actions taken in this episode. */
    public int steps() {
        return steps;
    }

    public int maxSteps() {
        return maxSteps;
    }

    public boolean isDone() {
        return done;
    }
}
