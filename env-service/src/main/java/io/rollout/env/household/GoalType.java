package io.rollout.env.household;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The ALFWorld task families the household generator draws from; {@link #configName()} is
 * how the {@code goal_types} config names them.
 */
public enum GoalType {
    /** "put a apple in fridge." */
    PICK_AND_PLACE(null),
    /** "put a clean apple in fridge.": clean it at the sinkbasin first. */
    PICK_CLEAN_THEN_PLACE(ReceptacleType.SINKBASIN),
    /** "put a hot potato on countertop.": heat it with the microwave first. */
    PICK_HEAT_THEN_PLACE(ReceptacleType.MICROWAVE),
    /** "put a cool tomato on countertop.": cool it with the fridge first. */
    PICK_COOL_THEN_PLACE(ReceptacleType.FRIDGE),
    /** "look at book under the desklamp.": hold it at the desk lamp and turn the lamp on. */
    LOOK_AT_OBJ(null);

    /** The appliance the goal needs besides the target, or null. */
    final ReceptacleType appliance;

    GoalType(ReceptacleType appliance) {
        this.appliance = appliance;
    }

    /** The name in config and in ALFWorld, e.g. {@code pick_clean_then_place}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The goal type named {@code name} (as in config), if any. */
    public static Optional<GoalType> fromConfigName(String name) {
        return Arrays.stream(values()).filter(t -> t.configName().equals(name)).findFirst();
    }

    /** Whether an item of this type can be the object of a goal of this type. */
    boolean accepts(ItemType item) {
        return switch (this) {
            case PICK_AND_PLACE -> item.pickupable();
            case PICK_CLEAN_THEN_PLACE -> item.cleanable();
            case PICK_HEAT_THEN_PLACE -> item.heatable();
            case PICK_COOL_THEN_PLACE -> item.coolable();
            case LOOK_AT_OBJ -> item.lookable();
        };
    }
}
