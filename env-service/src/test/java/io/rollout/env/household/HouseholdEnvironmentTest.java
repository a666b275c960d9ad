package io.rollout.env.household;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.Observation;
import io.rollout.env.SeededRandom;
import io.rollout.env.StepResult;
import io.rollout.env.household.Household.Flag;
import io.rollout.env.household.Household.Item;
import io.rollout.env.household.Household.Receptacle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class HouseholdEnvironmentTest {

    private static final List<Map<String, String>> CONFIGS = List.of(
            Map.of(),
            Map.of("receptacles", "3", "distractors", "0", "goal_types", "pick_and_place"),
            Map.of("receptacles", "3", "distractors", "0", "goal_types", "pick_clean_then_place"),
            Map.of("receptacles", "4", "distractors", "2", "goal_types", "pick_heat_then_place"),
            Map.of("receptacles", "5", "distractors", "3", "goal_types", "pick_cool_then_place"),
            Map.of("receptacles", "3", "distractors", "1", "goal_types", "look_at_obj"),
            Map.of("receptacles", "30", "distractors", "40", "max_steps", "200"));

    // A hand-made kitchen: the apple is on the countertop, the egg in the (closed) fridge.
    private static HouseholdGenerator.Scenario kitchen(GoalType type, ItemType object, ReceptacleType target) {
        List<Receptacle> receptacles = List.of(
                new Receptacle("cabinet 1", ReceptacleType.CABINET),
                new Receptacle("countertop 1", ReceptacleType.COUNTERTOP),
                new Receptacle("fridge 1", ReceptacleType.FRIDGE),
                new Receptacle("microwave 1", ReceptacleType.MICROWAVE),
                new Receptacle("sidetable 1", ReceptacleType.SIDETABLE),
                new Receptacle("sinkbasin 1", ReceptacleType.SINKBASIN));
        List<Item> items = List.of(
                new Item("apple 1", ItemType.APPLE),
                new Item("mug 1", ItemType.MUG),
                new Item("egg 1", ItemType.EGG),
                new Item("book 1", ItemType.BOOK),
                new Item("desklamp 1", ItemType.DESKLAMP));
        Map<String, String> at = new LinkedHashMap<>();
        at.put("apple 1", "countertop 1");
        at.put("mug 1", "cabinet 1");
        at.put("egg 1", "fridge 1");
        at.put("book 1", "sidetable 1");
        at.put("desklamp 1", "sidetable 1");
        return new HouseholdGenerator.Scenario(new Household(receptacles, items, at), new Goal(type, object, target));
    }

    private static HouseholdEnvironment kitchenEnv(int maxSteps) {
        HouseholdEnvironment env = new HouseholdEnvironment();
        env.start(kitchen(GoalType.PICK_CLEAN_THEN_PLACE, ItemType.APPLE, ReceptacleType.FRIDGE), maxSteps);
        return env;
    }

    private static void play(HouseholdEnvironment env, String... actions) {
        for (String action : actions) {
            assertThat(env.step(action).actionValid()).as(action).isTrue();
        }
    }

    private static void assertNothingHappens(HouseholdEnvironment env, String action) {
        String anchor = env.world().anchor();
        StepResult result = env.step(action);
        assertThat(result.observation().text()).as(action).isEqualTo("Nothing happens.");
        assertThat(result.actionValid()).as(action).isFalse();
        assertThat(result.reward()).isZero();
        assertThat(result.observation().anchor()).isEqualTo(anchor);
    }

    // ---- determinism

    @Test
    void shouldGiveTheSameEpisodeForTheSameSeedAndConfigOnTwoInstances() {
        for (Map<String, String> config : CONFIGS) {
            for (long seed = 0; seed < 10; seed++) {
                HouseholdEnvironment a = new HouseholdEnvironment();
                HouseholdEnvironment b = new HouseholdEnvironment();
                assertThat(a.reset(seed, EnvConfig.of(config))).isEqualTo(b.reset(seed, EnvConfig.of(config)));
                SeededRandom walk = new SeededRandom(seed);
                for (int k = 0; k < 10; k++) {
                    List<String> actions = a.world().admissibleActions();
                    String action = walk.pick(actions);
                    StepResult ra = a.step(action);
                    StepResult rb = b.step(action);
                    assertThat(ra).isEqualTo(rb);
                    if (ra.done()) {
                        break;
                    }
                }
            }
        }
    }

    @Test
    void shouldPinTheTaskOfOneSeedSoItIsTheSameOnEveryMachine() {
        Observation first = new HouseholdEnvironment().reset(7, EnvConfig.empty());
        Observation again = new HouseholdEnvironment().reset(7, EnvConfig.empty());
        assertThat(first.text()).isEqualTo(PINNED_SEED_7_TEXT);
        assertThat(first.anchor()).isEqualTo(PINNED_SEED_7_ANCHOR);
        assertThat(again).isEqualTo(first);
    }

    private static final String PINNED_SEED_7_TEXT = "You are in the middle of a room. Looking quickly around you, "
            + "you see a cabinet 1, a countertop 1, a countertop 2, a drawer 1, a drawer 2, a drawer 3, "
            + "a garbagecan 1, and a sinkbasin 1.\n\nYour task is to: put a clean apple in garbagecan.";
    private static final String PINNED_SEED_7_ANCHOR = """
            at: middle of room
            holding: nothing
            cabinet 1 (closed): nothing
            countertop 1: nothing
            countertop 2: egg 1, mug 1
            drawer 1 (closed): keychain 1
            drawer 2 (closed): nothing
            drawer 3 (closed): pencil 1
            garbagecan 1: nothing
            sinkbasin 1: apple 1""";

    @Test
    void shouldGiveDifferentTasksForDifferentSeeds() {
        TreeSet<String> texts = new TreeSet<>();
        TreeSet<String> anchors = new TreeSet<>();
        for (long seed = 0; seed < 100; seed++) {
            Observation o = new HouseholdEnvironment().reset(seed, EnvConfig.empty());
            texts.add(o.text());
            anchors.add(o.anchor());
        }
        assertThat(texts).hasSize(100);
        assertThat(anchors).hasSizeGreaterThan(95);
    }

    // ---- solvability

    @Test
    void shouldSolveEveryGoalTypeWithAScriptedPlanFor200SeedsPerConfig() {
        EnumSet<GoalType> solved = EnumSet.noneOf(GoalType.class);
        for (Map<String, String> config : CONFIGS) {
            for (long seed = 0; seed < 200; seed++) {
                HouseholdEnvironment env = new HouseholdEnvironment();
                env.reset(seed, EnvConfig.of(config));
                List<String> plan = HouseholdPlanner.plan(env.world(), env.goal());
                assertThat(plan.size()).isLessThanOrEqualTo(10);
                StepResult last = null;
                for (int k = 0; k < plan.size(); k++) {
                    last = env.step(plan.get(k));
                    assertThat(last.actionValid()).as("seed %d config %s step %s", seed, config, plan.get(k)).isTrue();
                    assertThat(last.done()).isEqualTo(k == plan.size() - 1);
                    assertThat(last.reward()).isEqualTo(k == plan.size() - 1 ? 10.0 : 0.0);
                }
                assertThat(last.won()).isTrue();
                solved.add(env.goal().type());
            }
        }
        assertThat(solved).containsExactlyInAnyOrder(GoalType.values());
    }

    @Test
    void shouldFollowThePlanAsExpertUntilTheAgentLeavesIt() {
        HouseholdEnvironment env = new HouseholdEnvironment();
        assertThat(env.expertAction()).isEmpty();
        env.reset(5, EnvConfig.empty());
        List<String> plan = HouseholdPlanner.plan(env.world(), env.goal());
        StepResult last = null;
        for (String command : plan) {
            assertThat(env.expertAction()).contains(command);
            last = env.step(env.expertAction().orElseThrow());
        }
        assertThat(last.won()).isTrue();
        assertThat(env.expertAction()).isEmpty();

        env.reset(5, EnvConfig.empty());
        env.step("inventory");
        assertThat(env.expertAction()).isEmpty();
    }

    @Test
    void shouldKeepTheEasiestSettingShort() {
        Map<String, String> easy = Map.of("receptacles", "3", "distractors", "0", "goal_types", "pick_and_place");
        for (long seed = 0; seed < 200; seed++) {
            HouseholdEnvironment env = new HouseholdEnvironment();
            Observation o = env.reset(seed, EnvConfig.of(easy));
            assertThat(env.world().receptacles()).hasSize(3);
            assertThat(env.world().items()).hasSize(1);
            assertThat(o.text()).contains("Your task is to: put ");
            assertThat(HouseholdPlanner.plan(env.world(), env.goal()).size()).isLessThanOrEqualTo(6);
        }
    }

    @Test
    void shouldOnlyHeatCoolAndCleanObjectsThatAllowIt() {
        for (long seed = 0; seed < 200; seed++) {
            for (String type : List.of("pick_clean_then_place", "pick_heat_then_place", "pick_cool_then_place")) {
                HouseholdEnvironment env = new HouseholdEnvironment();
                env.reset(seed, EnvConfig.of(Map.of("goal_types", type)));
                ItemType object = env.goal().object();
                switch (env.goal().type()) {
                    case PICK_CLEAN_THEN_PLACE -> assertThat(object.cleanable()).isTrue();
                    case PICK_HEAT_THEN_PLACE -> assertThat(object.category).isIn(
                            ItemType.Category.PRODUCE, ItemType.Category.FOOD);
                    default -> {
                        assertThat(object.category).isIn(ItemType.Category.PRODUCE, ItemType.Category.FOOD);
                        assertThat(env.goal().target()).isNotEqualTo(ReceptacleType.FRIDGE);
                    }
                }
            }
        }
    }

    // ---- observations and command semantics

    @Test
    void shouldOpenWithTheRoomAndTheTask() {
        HouseholdEnvironment env = new HouseholdEnvironment();
        Observation o = env.start(kitchen(GoalType.PICK_CLEAN_THEN_PLACE, ItemType.APPLE, ReceptacleType.FRIDGE), 30);
        assertThat(o.text()).isEqualTo("You are in the middle of a room. Looking quickly around you, you see "
                + "a cabinet 1, a countertop 1, a fridge 1, a microwave 1, a sidetable 1, and a sinkbasin 1."
                + "\n\nYour task is to: put a clean apple in fridge.");
        assertThat(o.admissibleActions()).containsExactly("go to cabinet 1", "go to countertop 1", "go to fridge 1",
                "go to microwave 1", "go to sidetable 1", "go to sinkbasin 1", "inventory", "look");
    }

    @Test
    void shouldDescribeAReceptacleOnArrivalClosedOrOpen() {
        HouseholdEnvironment env = kitchenEnv(30);
        assertThat(env.step("go to countertop 1").observation().text())
                .isEqualTo("You arrive at countertop 1. On the countertop 1, you see a apple 1.");
        assertThat(env.step("go to fridge 1").observation().text())
                .isEqualTo("You arrive at fridge 1. The fridge 1 is closed.");
        assertThat(env.step("open fridge 1").observation().text())
                .isEqualTo("You open the fridge 1. The fridge 1 is open. In it, you see a egg 1.");
        assertThat(env.step("go to sidetable 1").observation().text())
                .isEqualTo("You arrive at sidetable 1. On the sidetable 1, you see a book 1, and a desklamp 1.");
        assertThat(env.step("go to fridge 1").observation().text())
                .isEqualTo("You arrive at fridge 1. The fridge 1 is open. In it, you see a egg 1.");
        assertThat(env.step("close fridge 1").observation().text()).isEqualTo("You close the fridge 1.");
        assertThat(env.step("go to microwave 1").observation().admissibleActions())
                .contains("open microwave 1").doesNotContain("close microwave 1");
        assertThat(env.step("open microwave 1").observation().text())
                .isEqualTo("You open the microwave 1. The microwave 1 is open. In it, you see nothing.");
    }

    @Test
    void shouldRefuseToTakeFromAClosedReceptacleOrFromElsewhere() {
        HouseholdEnvironment env = kitchenEnv(30);
        assertNothingHappens(env, "take apple 1 from countertop 1");
        play(env, "go to fridge 1");
        assertNothingHappens(env, "take egg 1 from fridge 1");
        assertNothingHappens(env, "take apple 1 from countertop 1");
        assertNothingHappens(env, "go to fridge 1");
        assertNothingHappens(env, "close fridge 1");
        play(env, "open fridge 1");
        assertNothingHappens(env, "open fridge 1");
        assertThat(env.step("take egg 1 from fridge 1").observation().text())
                .isEqualTo("You pick up the egg 1 from the fridge 1.");
        assertThat(env.world().held()).isEqualTo("egg 1");
    }

    @Test
    void shouldCarryAtMostOneObject() {
        HouseholdEnvironment env = kitchenEnv(30);
        play(env, "go to sidetable 1", "take book 1 from sidetable 1");
        Observation o = env.step("look").observation();
        assertThat(o.admissibleActions()).noneMatch(a -> a.startsWith("take "));
        assertNothingHappens(env, "take desklamp 1 from sidetable 1");
        play(env, "go to countertop 1");
        assertNothingHappens(env, "take apple 1 from countertop 1");
        assertThat(env.step("inventory").observation().text()).isEqualTo("You are carrying: a book 1.");
    }

    @Test
    void shouldNotLetTheDeskLampBeTaken() {
        HouseholdEnvironment env = kitchenEnv(30);
        play(env, "go to sidetable 1");
        assertNothingHappens(env, "take desklamp 1 from sidetable 1");
        assertThat(env.step("use desklamp 1").observation().text()).isEqualTo("You turn on the desklamp 1.");
        assertThat(env.step("use desklamp 1").observation().text()).isEqualTo("You turn off the desklamp 1.");
    }

    @Test
    void shouldPutTheHeldObjectWithAnyWordingOfInOn() {
        for (String put : List.of("put apple 1 in/on fridge 1", "put apple 1 in fridge 1", "put apple 1 on fridge 1")) {
            HouseholdEnvironment env = kitchenEnv(30);
            play(env, "go to countertop 1", "take apple 1 from countertop 1", "go to fridge 1");
            assertNothingHappens(env, put);
            play(env, "open fridge 1");
            StepResult r = env.step(put);
            assertThat(r.observation().text()).isEqualTo("You put the apple 1 in/on the fridge 1.");
            assertThat(r.actionValid()).isTrue();
            assertThat(r.won()).as("the apple is not clean").isFalse();
            assertThat(env.world().locationOf("apple 1")).isEqualTo("fridge 1");
            assertThat(env.world().held()).isNull();
        }
    }

    @Test
    void shouldCleanOnlyAHeldCleanableObjectAtTheSinkbasin() {
        HouseholdEnvironment env = kitchenEnv(30);
        play(env, "go to sinkbasin 1");
        assertNothingHappens(env, "clean apple 1 with sinkbasin 1");
        play(env, "go to countertop 1", "take apple 1 from countertop 1");
        assertNothingHappens(env, "clean apple 1 with sinkbasin 1");
        play(env, "go to sinkbasin 1");
        assertThat(env.step("clean apple 1 with sinkbasin 1").observation().text())
                .isEqualTo("You clean the apple 1 using the sinkbasin 1.");
        assertThat(env.world().has("apple 1", Flag.CLEAN)).isTrue();
        assertThat(env.step("examine apple 1").observation().text()).isEqualTo("The apple 1 is clean.");
        play(env, "put apple 1 in/on sinkbasin 1", "go to fridge 1", "open fridge 1", "take egg 1 from fridge 1",
                "go to sinkbasin 1");
        assertNothingHappens(env, "clean egg 1 with sinkbasin 1");
    }

    @Test
    void shouldHeatAndCoolOnlyFoodAtTheRightAppliance() {
        HouseholdEnvironment env = kitchenEnv(30);
        play(env, "go to fridge 1", "open fridge 1", "take egg 1 from fridge 1");
        assertNothingHappens(env, "heat egg 1 with fridge 1");
        assertThat(env.step("cool egg 1 with fridge 1").observation().text())
                .isEqualTo("You cool the egg 1 using the fridge 1.");
        play(env, "go to microwave 1");
        assertThat(env.step("Heat egg 1 with microwave 1.").observation().text())
                .isEqualTo("You heat the egg 1 using the microwave 1.");
        assertThat(env.world().has("egg 1", Flag.HOT)).isTrue();
        assertThat(env.world().has("egg 1", Flag.COOL)).as("heating undoes cooling").isFalse();
        play(env, "open microwave 1", "put egg 1 in/on microwave 1", "go to cabinet 1", "open cabinet 1",
                "take mug 1 from cabinet 1", "go to microwave 1");
        assertNothingHappens(env, "heat mug 1 with microwave 1");
        play(env, "go to fridge 1");
        assertNothingHappens(env, "cool mug 1 with fridge 1");
    }

    @Test
    void shouldReportInventoryLookAndExamine() {
        HouseholdEnvironment env = kitchenEnv(30);
        assertThat(env.step("inventory").observation().text()).isEqualTo("You are not carrying anything.");
        assertThat(env.step("look").observation().text()).startsWith("You are in the middle of a room.");
        assertNothingHappens(env, "examine countertop 1");
        play(env, "go to countertop 1");
        assertThat(env.step("look").observation().text())
                .isEqualTo("You are facing the countertop 1. Next to it, you see nothing.");
        assertThat(env.step("examine countertop 1").observation().text())
                .isEqualTo("On the countertop 1, you see a apple 1.");
        play(env, "take apple 1 from countertop 1");
        assertThat(env.step("examine apple 1").observation().text())
                .isEqualTo("There's nothing special about apple 1.");
        assertThat(env.step("inventory").observation().text()).isEqualTo("You are carrying: a apple 1.");
        play(env, "go to fridge 1");
        assertThat(env.step("examine fridge 1").observation().text()).isEqualTo("The fridge 1 is closed.");
    }

    @Test
    void shouldTolerateCasePunctuationAndBareNames() {
        HouseholdEnvironment env = kitchenEnv(30);
        assertThat(env.step("  Go To Countertop 1.  ").actionValid()).isTrue();
        assertThat(env.step("Take the apple1 from the countertop 1.").actionValid()).isTrue();
        assertThat(env.step("go to fridge").observation().text()).startsWith("You arrive at fridge 1.");
        assertThat(env.step("`open fridge 1`").actionValid()).isTrue();
        assertThat(env.step("put apple in fridge").observation().text())
                .isEqualTo("You put the apple 1 in/on the fridge 1.");
        assertThat(env.step("take egg 1").observation().text()).isEqualTo("You pick up the egg 1 from the fridge 1.");
        assertThat(env.step("INVENTORY").actionValid()).isTrue();
    }

    @Test
    void shouldAnswerAHostileActionQuickly() {
        // Bodies up to the service's 64 KiB limit: quadratic parsing took seconds for each of these.
        HouseholdEnvironment env = kitchenEnv(30);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertNothingHappens(env, "x" + "\"".repeat(60_000) + "x");
            assertNothingHappens(env, "go to fridge 1" + ".".repeat(60_000) + "x");
            assertNothingHappens(env, "take " + "apple 1 from ".repeat(4_000) + "\u0085");
            assertNothingHappens(env, "go to " + "\"".repeat(60_000) + "fridge 1");
        });
        assertThat(env.step("\"".repeat(30_000) + "go to fridge 1" + ".".repeat(30_000)).actionValid()).isTrue();
    }

    @Test
    void shouldAnswerNothingHappensToNonsenseAndCountTheStep() {
        HouseholdEnvironment env = kitchenEnv(30);
        assertNothingHappens(env, "dance");
        assertNothingHappens(env, "");
        assertNothingHappens(env, "go to");
        assertNothingHappens(env, "go to garage 1");
        assertNothingHappens(env, "go to fridge 1 and open it");
        StepResult r = env.step("xyzzy");
        assertThat(r.observation().admissibleActions()).isEqualTo(env.world().admissibleActions());
        assertThat(env.steps()).isEqualTo(6);
    }

    @Test
    void shouldWinWithRewardTenWhenTheGoalHolds() {
        HouseholdEnvironment env = kitchenEnv(30);
        play(env, "go to countertop 1", "take apple 1 from countertop 1", "go to sinkbasin 1",
                "clean apple 1 with sinkbasin 1", "go to fridge 1", "open fridge 1");
        StepResult r = env.step("put apple 1 in/on fridge 1");
        assertThat(r.won()).isTrue();
        assertThat(r.done()).isTrue();
        assertThat(r.reward()).isEqualTo(10.0);
        assertThat(r.observation().admissibleActions()).isEmpty();
        assertThatThrownBy(() -> env.step("look"))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.EPISODE_DONE));
    }

    @Test
    void shouldWinALookAtGoalByHoldingTheObjectUnderTheLitLamp() {
        HouseholdEnvironment env = new HouseholdEnvironment();
        Observation o = env.start(kitchen(GoalType.LOOK_AT_OBJ, ItemType.BOOK, null), 30);
        assertThat(o.text()).endsWith("Your task is to: look at book under the desklamp.");
        play(env, "go to sidetable 1");
        assertThat(env.step("use desklamp 1").won()).isFalse();
        play(env, "use desklamp 1");
        StepResult took = env.step("take book 1 from sidetable 1");
        assertThat(took.won()).isFalse();
        StepResult lit = env.step("use desklamp 1");
        assertThat(lit.won()).isTrue();
        assertThat(lit.reward()).isEqualTo(10.0);
    }

    // ---- admissible actions

    @Test
    void shouldListExactlyTheCommandsThatApply() {
        List<String> mismatches = new ArrayList<>();
        int checked = 0;
        for (long seed = 0; seed < 25; seed++) {
            HouseholdEnvironment env = new HouseholdEnvironment();
            Observation o = env.reset(seed, EnvConfig.of(Map.of("receptacles", "5", "distractors", "2")));
            List<String> universe = universe(env.world());
            SeededRandom walk = new SeededRandom(seed + 1000);
            for (int k = 0; k < 15 && !o.admissibleActions().isEmpty(); k++) {
                Household world = env.world();
                assertThat(o.admissibleActions()).isEqualTo(world.admissibleActions()).doesNotHaveDuplicates();
                assertThat(universe).containsAll(o.admissibleActions());
                String anchor = world.anchor();
                for (String command : universe) {
                    Household copy = world.copy();
                    boolean applied = CommandParser.parse(command).flatMap(copy::execute).isPresent();
                    boolean listed = o.admissibleActions().contains(command);
                    if (applied != listed || (!applied && !copy.anchor().equals(anchor))) {
                        mismatches.add("seed " + seed + ": '" + command + "' applied=" + applied + " in\n" + anchor);
                    }
                    checked++;
                }
                o = env.step(walk.pick(o.admissibleActions())).observation();
            }
        }
        assertThat(mismatches).isEmpty();
        assertThat(checked).isGreaterThan(10_000);
    }

    @Test
    void shouldAcceptEveryListedActionWhenReplayedFromAFreshEpisode() {
        EnvConfig config = EnvConfig.of(Map.of("receptacles", "5", "distractors", "2"));
        for (long seed = 0; seed < 8; seed++) {
            HouseholdEnvironment env = new HouseholdEnvironment();
            Observation o = env.reset(seed, config);
            List<String> history = new ArrayList<>();
            SeededRandom walk = new SeededRandom(seed);
            for (int k = 0; k < 8; k++) {
                for (String action : o.admissibleActions()) {
                    HouseholdEnvironment replay = new HouseholdEnvironment();
                    replay.reset(seed, config);
                    history.forEach(replay::step);
                    assertThat(replay.world().anchor()).isEqualTo(o.anchor());
                    assertThat(replay.step(action).actionValid()).as("seed %d after %s: %s", seed, history, action)
                            .isTrue();
                }
                String next = walk.pick(o.admissibleActions());
                StepResult r = env.step(next);
                if (r.done()) {
                    break;
                }
                history.add(next);
                o = r.observation();
            }
        }
    }

    /** Every command of every verb over every name in the world. */
    private static List<String> universe(Household world) {
        List<String> objects = world.items().stream().map(Item::name).toList();
        List<String> places = world.receptacles().stream().map(Receptacle::name).toList();
        List<String> out = new ArrayList<>(List.of("inventory", "look"));
        for (String p : places) {
            out.addAll(List.of("go to " + p, "open " + p, "close " + p, "examine " + p));
            for (String i : objects) {
                for (String verb : List.of("take %s from %s", "put %s in/on %s", "clean %s with %s",
                        "heat %s with %s", "cool %s with %s")) {
                    out.add(String.format(verb, i, p));
                }
            }
        }
        for (String i : objects) {
            out.addAll(List.of("use " + i, "examine " + i));
        }
        return out;
    }

    // ---- anchors

    @Test
    void shouldGiveTheSameAnchorForTheSameStateReachedByDifferentPaths() {
        HouseholdEnvironment a = kitchenEnv(30);
        HouseholdEnvironment b = kitchenEnv(30);
        play(a, "go to fridge 1", "open fridge 1", "go to countertop 1");
        play(b, "go to fridge 1", "open fridge 1", "close fridge 1", "open fridge 1", "inventory",
                "go to cabinet 1", "go to countertop 1");
        assertThat(b.step("look").observation().anchor()).isEqualTo(a.world().anchor());
        assertThat(a.step("examine countertop 1").observation().anchor())
                .isEqualTo(b.step("inventory").observation().anchor());
    }

    @Test
    void shouldKeepFeedbackAndTheTaskOutOfTheAnchor() {
        HouseholdEnvironment env = kitchenEnv(30);
        List<String> anchors = new ArrayList<>();
        anchors.add(env.world().anchor());
        for (String action : List.of("go to countertop 1", "dance", "take apple 1 from countertop 1", "look")) {
            anchors.add(env.step(action).observation().anchor());
        }
        assertThat(anchors).allSatisfy(anchor -> assertThat(anchor)
                .doesNotContain("You ", "Nothing happens", "task", "clean apple", "arrive"));
        assertThat(anchors.get(2)).isEqualTo(anchors.get(1));
        assertThat(anchors.get(4)).isEqualTo(anchors.get(3));
        assertThat(anchors.get(0)).isEqualTo("""
                at: middle of room
                holding: nothing
                cabinet 1 (closed): mug 1
                countertop 1: apple 1
                fridge 1 (closed): egg 1
                microwave 1 (closed): nothing
                sidetable 1: book 1, desklamp 1
                sinkbasin 1: nothing""");
    }

    @Test
    void shouldGiveDifferentAnchorsExactlyForDifferentStates() {
        Map<String, String> stateByAnchor = new TreeMap<>();
        Map<String, String> anchorByState = new TreeMap<>();
        for (long seed = 0; seed < 20; seed++) {
            HouseholdEnvironment env = new HouseholdEnvironment();
            Observation o = env.reset(seed, EnvConfig.of(Map.of("receptacles", "4", "distractors", "2",
                    "max_steps", "60")));
            SeededRandom walk = new SeededRandom(seed);
            for (int k = 0; k < 60 && !o.admissibleActions().isEmpty(); k++) {
                String state = "seed " + seed + "\n" + stateOf(env.world());
                String previous = stateByAnchor.putIfAbsent(o.anchor(), state);
                assertThat(previous == null || previous.equals(state)).isTrue();
                String previousAnchor = anchorByState.putIfAbsent(state, o.anchor());
                assertThat(previousAnchor == null || previousAnchor.equals(o.anchor())).isTrue();
                o = env.step(walk.pick(o.admissibleActions())).observation();
            }
        }
        assertThat(stateByAnchor.size()).isGreaterThan(200);
    }

    /** The state written independently of {@link Household#anchor()}, from the accessors. */
    private static String stateOf(Household w) {
        StringBuilder sb = new StringBuilder(w.location() + "|" + w.held() + "|");
        for (Receptacle r : w.receptacles()) {
            sb.append(r.name()).append(w.isOpen(r.name())).append(';');
        }
        for (Item i : w.items()) {
            sb.append(i.name()).append('@').append(w.locationOf(i.name()));
            for (Flag f : Flag.values()) {
                sb.append(w.has(i.name(), f) ? f.label() : "-");
            }
            sb.append(';');
        }
        return sb.toString();
    }

    // ---- episode lifecycle

    @Test
    void shouldEndTheEpisodeAtTheStepLimit() {
        HouseholdEnvironment env = new HouseholdEnvironment();
        env.reset(3, EnvConfig.of(Map.of("max_steps", "3")));
        assertThat(env.step("look").done()).isFalse();
        assertThat(env.step("dance").done()).isFalse();
        StepResult last = env.step("inventory");
        assertThat(last.done()).isTrue();
        assertThat(last.won()).isFalse();
        assertThat(last.reward()).isZero();
        assertThatThrownBy(() -> env.step("look"))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.EPISODE_DONE));
        Observation again = env.reset(3, EnvConfig.of(Map.of("max_steps", "3")));
        assertThat(again.anchor()).contains("at: middle of room");
        assertThat(env.step("look").done()).isFalse();
    }

    @Test
    void shouldRefuseAStepBeforeReset() {
        assertThatThrownBy(() -> new HouseholdEnvironment().step("look"))
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(Kind.NOT_STARTED));
    }

    // ---- config

    @Test
    void shouldRejectBadConfig() {
        assertRejected(Map.of("rooms", "5"), Kind.UNKNOWN_CONFIG_KEY);
        assertRejected(Map.of("receptacles", "2"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("receptacles", "31"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("distractors", "-1"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("distractors", "41"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("max_steps", "0"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("max_steps", "201"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("max_steps", "ten"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("goal_types", "pick_and_place,juggle"), Kind.BAD_CONFIG_VALUE);
        assertRejected(Map.of("goal_types", " , "), Kind.BAD_CONFIG_VALUE);
        assertThatThrownBy(() -> new HouseholdEnvironment().reset(-1, EnvConfig.empty()))
                .isInstanceOfSatisfying(EnvInputException.class,
                        e -> assertThat(e.kind()).isEqualTo(Kind.SEED_OUT_OF_RANGE));
    }

    private static void assertRejected(Map<String, String> config, Kind kind) {
        assertThatThrownBy(() -> new HouseholdEnvironment().reset(1, EnvConfig.of(config)))
                .as("%s", config)
                .isInstanceOfSatisfying(EnvInputException.class, e -> assertThat(e.kind()).isEqualTo(kind));
    }

    @Test
    void shouldHonourTheDifficultySettings() {
        for (long seed = 0; seed < 50; seed++) {
            HouseholdEnvironment env = new HouseholdEnvironment();
            env.reset(seed, EnvConfig.of(Map.of("receptacles", "12", "distractors", "7",
                    "goal_types", " Look_At_Obj , pick_heat_then_place")));
            assertThat(env.world().receptacles()).hasSize(12);
            assertThat(env.goal().type()).isIn(GoalType.LOOK_AT_OBJ, GoalType.PICK_HEAT_THEN_PLACE);
            int lamps = env.goal().type() == GoalType.LOOK_AT_OBJ ? 1 : 0;
            assertThat(env.world().items()).hasSize(1 + 7 + lamps);
        }
    }

    @Test
    void shouldTreatTheGoalTypeListAsASet() {
        Observation a = new HouseholdEnvironment().reset(5,
                EnvConfig.of(Map.of("goal_types", "pick_and_place,look_at_obj")));
        Observation b = new HouseholdEnvironment().reset(5,
                EnvConfig.of(Map.of("goal_types", "look_at_obj,pick_and_place,look_at_obj")));
        assertThat(b).isEqualTo(a);
        assertThat(HouseholdConfig.goalTypes("all")).containsExactly(GoalType.values());
    }

    @Test
    void shouldDescribeItselfThroughTheFactory() {
        HouseholdFactory factory = new HouseholdFactory();
        assertThat(factory.name()).isEqualTo("household");
        assertThat(factory.description()).isNotBlank();
        assertThat(factory.configDefaults()).containsExactly(
                Map.entry("receptacles", "8"), Map.entry("distractors", "4"),
                Map.entry("goal_types",
                        "pick_and_place,pick_clean_then_place,pick_heat_then_place,pick_cool_then_place,look_at_obj"),
                Map.entry("max_steps", "30"));
        try (var env = factory.create()) {
            assertThat(env.name()).isEqualTo("household");
            assertThat(env.reset(0, EnvConfig.of(factory.configDefaults())))
                    .isEqualTo(new HouseholdEnvironment().reset(0, EnvConfig.empty()));
        }
    }
}
