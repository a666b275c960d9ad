package io.rollout.env.household;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.Environment;
import io.rollout.env.Observation;
import io.rollout.env.Seeds;
import io.rollout.env.StepResult;
import java.util.List;
import java.util.Optional;

/**
 * An ALFWorld-style text household: the agent moves between receptacles, opens them, takes
 * and puts objects and cleans, heats or cools them to reach a goal such as "put a clean
 * apple in fridge." Every observation lists the admissible commands; the anchor is the
 * canonical world state, so GiGPO can group steps that reach the same state.
 */
public final class HouseholdEnvironment implements Environment {

    public static final String NAME = "household";
    /** The reward of the step that satisfies the goal; every other step earns 0. */
    public static final double SUCCESS_REWARD = 10.0;
    static final String NOTHING_HAPPENS = "Nothing happens.";

    private Household world;
    private Goal goal;
    private int maxSteps;
    private int steps;
    private boolean done;
    private List<String> plan = List.of();
    private boolean onPlan;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Observation reset(long seed, EnvConfig config) {
        Seeds.check(seed);
        HouseholdConfig settings = HouseholdConfig.from(config);
        return start(HouseholdGenerator.generate(seed, settings), settings.maxSteps());
    }

    /** Starts an episode on a given task; reset uses it, and tests use it with hand-made households. */
    Observation start(HouseholdGenerator.Scenario scenario, int maxSteps) {
        this.world = scenario.world();
        this.goal = scenario.goal();
        this.maxSteps = maxSteps;
        this.steps = 0;
        this.done = false;
        this.plan = HouseholdPlanner.plan(world, goal);
        this.onPlan = true;
        String text = world.roomDescription() + "\n\nYour task is to: " + goal.describe();
        return new Observation(text, world.anchor(), world.admissibleActions());
    }

    @Override
    public StepResult step(String action) {
        if (world == null) {
            throw new EnvInputException(Kind.NOT_STARTED, "no household episode is running; call reset first");
        }
        if (done) {
            throw new EnvInputException(Kind.EPISODE_DONE, "the household episode is over after " + steps + " steps");
        }
        onPlan = onPlan && steps < plan.size() && plan.get(steps).equals(action);
        steps++;
        Optional<String> feedback = CommandParser.parse(action).flatMap(world::execute);
        boolean won = feedback.isPresent() && goal.isSatisfied(world);
        done = won || steps >= maxSteps;
        // A finished episode accepts nothing more, so its last observation lists no actions.
        List<String> admissible = done ? List.of() : world.admissibleActions();
        Observation observation = new Observation(feedback.orElse(NOTHING_HAPPENS), world.anchor(), admissible);
        return new StepResult(observation, won ? SUCCESS_REWARD : 0.0, done, won, feedback.isPresent());
    }

    /**
     * The next command of the plan {@link HouseholdPlanner} made at reset from the hidden state,
     * while every command so far followed it; empty once the agent left the plan.
     */
    @Override
    public Optional<String> expertAction() {
        return world != null && !done && onPlan && steps < plan.size() ? Optional.of(plan.get(steps))
                : Optional.empty();
    }

    /** The live world of the running episode (tests read it to plan). */
    Household world() {
        return world;
    }

    Goal goal() {
        return goal;
    }

    int steps() {
        return steps;
    }
}
