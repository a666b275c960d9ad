package io.rollout.env.household;

import io.rollout.env.SeededRandom;
import io.rollout.env.household.Household.Item;
import io.rollout.env.household.Household.Receptacle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Draws a household and its goal from a seed. Every choice comes from one
 * {@link SeededRandom} over lists in a fixed order, so a seed and config give the same task
 * on every machine. The goal is never satisfied at the start: no object of the goal's type
 * starts in a receptacle of the goal's target type.
 */
final class HouseholdGenerator {

    /** A generated task: the starting state and what to achieve in it. */
    record Scenario(Household world, Goal goal) {
    }

    private static final List<ItemType> CARRIABLE = Arrays.stream(ItemType.values())
            .filter(ItemType::pickupable).toList();

    private HouseholdGenerator() {
    }

    static Scenario generate(long seed, HouseholdConfig config) {
        SeededRandom rng = new SeededRandom(seed);
        GoalType goalType = rng.pick(config.goalTypes());
        ItemType object = rng.pick(Arrays.stream(ItemType.values()).filter(goalType::accepts).toList());
        ReceptacleType target = goalType == GoalType.LOOK_AT_OBJ ? null
                : rng.pick(object.targets().stream().filter(t -> t != goalType.appliance).toList());
        Goal goal = new Goal(goalType, object, target);

        List<ReceptacleType> types = new ArrayList<>();
        if (goalType.appliance != null) {
            types.add(goalType.appliance);
        }
        ReceptacleType lampHolder = null;
        if (target != null) {
            types.add(target);
        } else {
            lampHolder = rng.pick(ItemType.DESKLAMP.homes());
            types.add(lampHolder);
        }
        boolean first = true;
        while (types.size() < config.receptacles()) {
            // The first extra receptacle is never of the target type, so the goal object
            // always has somewhere to start that does not already satisfy the goal.
            boolean excludeTarget = first;
            List<ReceptacleType> pool = Arrays.stream(ReceptacleType.values())
                    .filter(t -> !(t.singleton && types.contains(t)))
                    .filter(t -> !(excludeTarget && t == target))
                    .toList();
            types.add(weightedPick(rng, pool));
            first = false;
        }
        List<Receptacle> receptacles = new ArrayList<>();
        Map<ReceptacleType, Integer> counts = new EnumMap<>(ReceptacleType.class);
        for (ReceptacleType t : types) {
            int n = counts.merge(t, 1, Integer::sum);
            receptacles.add(new Receptacle(t.label() + " " + n, t));
        }

        List<ItemType> itemTypes = new ArrayList<>();
        itemTypes.add(object);
        if (lampHolder != null) {
            itemTypes.add(ItemType.DESKLAMP);
        }
        for (int d = 0; d < config.distractors(); d++) {
            itemTypes.add(rng.pick(CARRIABLE));
        }
        // Numbers are handed out in a shuffled order, so the goal's object is not always "1".
        List<Integer> order = new ArrayList<>();
        for (int k = 0; k < itemTypes.size(); k++) {
            order.add(k);
        }
        rng.shuffle(order);
        String[] names = new String[itemTypes.size()];
        Map<ItemType, Integer> itemCounts = new EnumMap<>(ItemType.class);
        for (int k : order) {
            ItemType t = itemTypes.get(k);
            names[k] = t.label() + " " + itemCounts.merge(t, 1, Integer::sum);
        }

        List<Item> items = new ArrayList<>();
        Map<String, String> locations = new LinkedHashMap<>();
        for (int k = 0; k < itemTypes.size(); k++) {
            ItemType t = itemTypes.get(k);
            Item item = new Item(names[k], t);
            items.add(item);
            List<Receptacle> allowed = receptacles.stream()
                    .filter(r -> !(t == object && r.type() == target))
                    .toList();
            List<Receptacle> homes = allowed.stream().filter(r -> t.homes().contains(r.type())).toList();
            locations.put(item.name(), rng.pick(homes.isEmpty() ? allowed : homes).name());
        }

        Household world = new Household(receptacles, items, locations);
        if (goal.isSatisfied(world)) {
            throw new IllegalStateException("generated a goal that holds at the start: seed " + seed);
        }
        return new Scenario(world, goal);
    }

    private static ReceptacleType weightedPick(SeededRandom rng, List<ReceptacleType> pool) {
        int total = pool.stream().mapToInt(t -> t.weight).sum();
        int roll = rng.nextInt(total);
        for (ReceptacleType t : pool) {
            roll -= t.weight;
            if (roll < 0) {
                return t;
            }
        }
        throw new AssertionError("weights out of sync");
    }
}
