package io.rollout.env.household;

import io.rollout.env.household.Household.Item;
import io.rollout.env.household.Household.Receptacle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Plans the shortest obvious command sequence for a fresh household by reading its hidden state
 * (where the object lies, which receptacles must be opened): the oracle behind the household's
 * demonstrations. At most 10 commands for every goal type.
 */
final class HouseholdPlanner {

    private HouseholdPlanner() {
    }

    static List<String> plan(Household world, Goal goal) {
        List<String> plan = new ArrayList<>();
        Set<String> opened = new TreeSet<>();
        Item object = world.items().stream().filter(i -> i.type() == goal.object()).findFirst().orElseThrow();
        String source = world.locationOf(object.name());
        String[] at = {null};
        goTo(world, plan, opened, at, source);
        plan.add("take " + object.name() + " from " + source);

        if (goal.type().appliance != null) {
            String appliance = first(world, goal.type().appliance);
            if (!appliance.equals(at[0])) {
                plan.add("go to " + appliance);
                at[0] = appliance;
            }
            String verb = switch (goal.type()) {
                case PICK_CLEAN_THEN_PLACE -> "clean";
                case PICK_HEAT_THEN_PLACE -> "heat";
                default -> "cool";
            };
            plan.add(verb + " " + object.name() + " with " + appliance);
        }

        if (goal.type() == GoalType.LOOK_AT_OBJ) {
            Item lamp = world.items().stream().filter(i -> i.type() == ItemType.DESKLAMP).findFirst().orElseThrow();
            String lampAt = world.locationOf(lamp.name());
            if (!lampAt.equals(at[0])) {
                plan.add("go to " + lampAt);
            }
            plan.add("use " + lamp.name());
        } else {
            String target = first(world, goal.target());
            goTo(world, plan, opened, at, target);
            plan.add("put " + object.name() + " in/on " + target);
        }
        return plan;
    }

    private static void goTo(Household world, List<String> plan, Set<String> opened, String[] at, String where) {
        if (!where.equals(at[0])) {
            plan.add("go to " + where);
            at[0] = where;
        }
        if (world.receptacle(where).type().openable && opened.add(where)) {
            plan.add("open " + where);
        }
    }

    private static String first(Household world, ReceptacleType type) {
        return world.receptacles().stream().filter(r -> r.type() == type).map(Receptacle::name)
                .findFirst().orElseThrow();
    }
}
