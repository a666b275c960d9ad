package io.rollout.env.household;

import java.util.Objects;

/**
 * What the agent must achieve, at the level of types as in ALFWorld: any apple that is
 * clean and in any fridge satisfies "put a clean apple in fridge".
 *
 * @param type   the task family
 * @param object the type of object to move or look at
 * @param target where to put it; null for {@link GoalType#LOOK_AT_OBJ}
 */
record Goal(GoalType type, ItemType object, ReceptacleType target) {

    Goal {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(object, "object");
        if ((type == GoalType.LOOK_AT_OBJ) != (target == null)) {
            throw new IllegalArgumentException("a " + type.configName() + " goal " +
                    (target == null ? "needs" : "takes no") + " target");
        }
        if (!type.accepts(object)) {
            throw new IllegalArgumentException(object.label() + " cannot be the object of " + type.configName());
        }
    }

    /** The task sentence, ending in a period, e.g. "put a clean apple in fridge." */
    String describe() {
        String obj = object.label();
        return switch (type) {
            case PICK_AND_PLACE -> target.preposition.equals("on")
                    ? "put some " + obj + " on " + target.label() + "."
                    : "put a " + obj + " in " + target.label() + ".";
            case PICK_CLEAN_THEN_PLACE -> "put a clean " + obj + " " + target.preposition + " " + target.label() + ".";
            case PICK_HEAT_THEN_PLACE -> "put a hot " + obj + " " + target.preposition + " " + target.label() + ".";
            case PICK_COOL_THEN_PLACE -> "put a cool " + obj + " " + target.preposition + " " + target.label() + ".";
            case LOOK_AT_OBJ -> "look at " + obj + " under the " + ItemType.DESKLAMP.label() + ".";
        };
    }

    boolean isSatisfied(Household world) {
        if (type == GoalType.LOOK_AT_OBJ) {
            return world.held() != null && world.item(world.held()).type() == object
                    && world.location() != null && world.contents(world.location()).stream()
                    .anyMatch(i -> i.type().toggleable() && world.has(i.name(), Household.Flag.ON));
        }
        Household.Flag needed = switch (type) {
            case PICK_CLEAN_THEN_PLACE -> Household.Flag.CLEAN;
            case PICK_HEAT_THEN_PLACE -> Household.Flag.HOT;
            case PICK_COOL_THEN_PLACE -> Household.Flag.COOL;
            default -> null;
        };
        for (Household.Item item : world.items()) {
            String where = world.locationOf(item.name());
            if (item.type() == object && where != null && world.receptacle(where).type() == target
                    && (needed == null || world.has(item.name(), needed))) {
                return true;
            }
        }
        return false;
    }
}
