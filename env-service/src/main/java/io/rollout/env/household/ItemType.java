package io.rollout.env.household;

import static io.rollout.env.household.ReceptacleType.CABINET;
import static io.rollout.env.household.ReceptacleType.COUNTERTOP;
import static io.rollout.env.household.ReceptacleType.DESK;
import static io.rollout.env.household.ReceptacleType.DININGTABLE;
import static io.rollout.env.household.ReceptacleType.DRAWER;
import static io.rollout.env.household.ReceptacleType.DRESSER;
import static io.rollout.env.household.ReceptacleType.FRIDGE;
import static io.rollout.env.household.ReceptacleType.GARBAGECAN;
import static io.rollout.env.household.ReceptacleType.MICROWAVE;
import static io.rollout.env.household.ReceptacleType.SHELF;
import static io.rollout.env.household.ReceptacleType.SIDETABLE;
import static io.rollout.env.household.ReceptacleType.SINKBASIN;
import static io.rollout.env.household.ReceptacleType.STOVEBURNER;

import java.util.List;
import java.util.Locale;

/**
 * The kinds of object a household holds, with what can be done to them. Capabilities come
 * from the category so that goals stay sensible: only food is heated or cooled, produce and
 * dishes are cleaned, and small things are looked at under the desk lamp.
 */
enum ItemType {
    APPLE(Category.PRODUCE),
    BREAD(Category.FOOD),
    EGG(Category.FOOD),
    LETTUCE(Category.PRODUCE),
    POTATO(Category.PRODUCE),
    TOMATO(Category.PRODUCE),
    BOWL(Category.DISH),
    CUP(Category.DISH),
    MUG(Category.DISH),
    PLATE(Category.DISH),
    FORK(Category.UTENSIL),
    KNIFE(Category.UTENSIL),
    SPOON(Category.UTENSIL),
    PAN(Category.COOKWARE),
    ALARMCLOCK(Category.SMALL),
    BOOK(Category.SMALL),
    CELLPHONE(Category.SMALL),
    CREDITCARD(Category.SMALL),
    KEYCHAIN(Category.SMALL),
    PENCIL(Category.SMALL),
    DESKLAMP(Category.LAMP);

    /** Shared capabilities and plausible places of a group of item types. */
    enum Category {
        PRODUCE(true, true, false, List.of(COUNTERTOP, DININGTABLE, FRIDGE, GARBAGECAN, MICROWAVE, SINKBASIN),
                List.of(COUNTERTOP, DININGTABLE, FRIDGE, GARBAGECAN)),
        FOOD(false, true, false, List.of(COUNTERTOP, DININGTABLE, FRIDGE, GARBAGECAN, MICROWAVE),
                List.of(COUNTERTOP, DININGTABLE, FRIDGE, GARBAGECAN)),
        DISH(true, false, false, List.of(CABINET, COUNTERTOP, DININGTABLE, SHELF, SINKBASIN, MICROWAVE, FRIDGE),
                List.of(CABINET, COUNTERTOP, DININGTABLE, SHELF)),
        UTENSIL(true, false, false, List.of(DRAWER, COUNTERTOP, DININGTABLE, SINKBASIN),
                List.of(DRAWER, COUNTERTOP, DININGTABLE)),
        COOKWARE(true, false, false, List.of(STOVEBURNER, COUNTERTOP, CABINET, SINKBASIN),
                List.of(STOVEBURNER, COUNTERTOP, CABINET)),
        SMALL(false, false, true, List.of(SHELF, DRAWER, SIDETABLE, DESK, DRESSER, DININGTABLE),
                List.of(SHELF, DRAWER, SIDETABLE, DESK, DRESSER)),
        LAMP(false, false, false, List.of(SIDETABLE, DESK, DRESSER), List.of());

        final boolean cleanable;
        /** Food: can be heated in the microwave and cooled in the fridge. */
        final boolean temperable;
        final boolean lookable;
        /** Where an item of this kind is placed when a household is generated. */
        final List<ReceptacleType> homes;
        /** Where a goal may ask for an item of this kind to be put. */
        final List<ReceptacleType> targets;

        Category(boolean cleanable, boolean temperable, boolean lookable,
                 List<ReceptacleType> homes, List<ReceptacleType> targets) {
            this.cleanable = cleanable;
            this.temperable = temperable;
            this.lookable = lookable;
            this.homes = homes;
            this.targets = targets;
        }
    }

    final Category category;

    ItemType(Category category) {
        this.category = category;
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    boolean cleanable() {
        return category.cleanable;
    }

    boolean heatable() {
        return category.temperable;
    }

    boolean coolable() {
        return category.temperable;
    }

    boolean lookable() {
        return category.lookable;
    }

    /** The desk lamp is fixed in place; everything else can be carried. */
    boolean pickupable() {
        return category != Category.LAMP;
    }

    boolean toggleable() {
        return category == Category.LAMP;
    }

    List<ReceptacleType> homes() {
        return category.homes;
    }

    List<ReceptacleType> targets() {
        return category.targets;
    }
}
