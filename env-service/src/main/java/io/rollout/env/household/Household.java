package io.rollout.env.household;

import io.rollout.env.household.Command.Role;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The mutable state of one household: where the agent is, what it carries, which
 * receptacles are open, where every object is and its clean/hot/cool/on flags. It knows
 * which commands apply now ({@link #admissibleActions()}), applies them with ALFWorld's
 * feedback, and writes the state as a canonical {@link #anchor()}.
 *
 * <p>Longer than most classes because a household's state, the actions admissible in it, their
 * effects and the texts that describe it (room, receptacles, items, the anchor) change together;
 * the command language itself is {@link Command} and {@link CommandParser}.
 */
final class Household {

    /** A place objects are in or on, e.g. {@code fridge 1}. */
    record Receptacle(String name, ReceptacleType type) {
    }

    /** An object, e.g. {@code apple 1}. */
    record Item(String name, ItemType type) {
    }

    /** What happened to an object; a flag never goes away except hot/cool replacing each other and the lamp off. */
    enum Flag {
        CLEAN, HOT, COOL, ON;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** ALFWorld order: by type word, then by number (so cabinet 2 comes before cabinet 10). */
    static final Comparator<String> NAME_ORDER = Comparator.comparing(Household::typeWord)
            .thenComparingInt(Household::number);

    private final List<Receptacle> receptacles;
    private final Map<String, Receptacle> receptacleByName;
    private final List<Item> items;
    private final Map<String, Item> itemByName;

    /** Item name to receptacle name; an item being carried has no entry. */
    private final Map<String, String> itemLocation;
    private final TreeSet<String> open;
    private final Map<String, EnumSet<Flag>> flags;
    /** The receptacle the agent is at; null in the middle of the room, where every episode starts. */
    private String location;
    private String held;

    /**
     * A household with every openable receptacle closed, the agent in the middle of the room
     * and its hands empty.
     *
     * @param locations where each item is, by name; every item must be placed
     */
    Household(List<Receptacle> receptacles, List<Item> items, Map<String, String> locations) {
        this.receptacles = receptacles.stream().sorted(Comparator.comparing(Receptacle::name, NAME_ORDER)).toList();
        this.items = items.stream().sorted(Comparator.comparing(Item::name, NAME_ORDER)).toList();
        this.receptacleByName = new LinkedHashMap<>();
        for (Receptacle r : this.receptacles) {
            if (receptacleByName.put(r.name(), r) != null) {
                throw new IllegalArgumentException("duplicate receptacle " + r.name());
            }
        }
        this.itemByName = new LinkedHashMap<>();
        for (Item i : this.items) {
            if (itemByName.put(i.name(), i) != null || receptacleByName.containsKey(i.name())) {
                throw new IllegalArgumentException("duplicate name " + i.name());
            }
        }
        this.itemLocation = new LinkedHashMap<>();
        this.flags = new LinkedHashMap<>();
        for (Item i : this.items) {
            String where = locations.get(i.name());
            if (where == null || !receptacleByName.containsKey(where)) {
                throw new IllegalArgumentException(i.name() + " is not in a known receptacle: " + where);
            }
            itemLocation.put(i.name(), where);
            flags.put(i.name(), EnumSet.noneOf(Flag.class));
        }
        this.open = new TreeSet<>(NAME_ORDER);
    }

    private Household(Household other) {
        this.receptacles = other.receptacles;
        this.receptacleByName = other.receptacleByName;
        this.items = other.items;
        this.itemByName = other.itemByName;
        this.itemLocation = new LinkedHashMap<>(other.itemLocation);
        this.open = new TreeSet<>(other.open);
        this.flags = new LinkedHashMap<>();
        other.flags.forEach((name, set) -> flags.put(name, EnumSet.copyOf(set)));
        this.location = other.location;
        this.held = other.held;
    }

    /** An independent copy of the current state. */
    Household copy() {
        return new Household(this);
    }

    List<Receptacle> receptacles() {
        return receptacles;
    }

    List<Item> items() {
        return items;
    }

    Receptacle receptacle(String name) {
        return receptacleByName.get(name);
    }

    Item item(String name) {
        return itemByName.get(name);
    }

    /** The receptacle the agent is at, or null in the middle of the room. */
    String location() {
        return location;
    }

    /** The item the agent carries, or null. */
    String held() {
        return held;
    }

    /** The receptacle the item is in or on, or null while carried. */
    String locationOf(String item) {
        return itemLocation.get(item);
    }

    boolean isOpen(String receptacle) {
        return open.contains(receptacle);
    }

    boolean has(String item, Flag flag) {
        return flags.get(item).contains(flag);
    }

    /** What is in or on the receptacle, seen or not, in canonical order. */
    List<Item> contents(String receptacle) {
        return items.stream().filter(i -> receptacle.equals(itemLocation.get(i.name()))).toList();
    }

    private boolean accessible(Receptacle r) {
        return !r.type().openable || open.contains(r.name());
    }

    /**
     * The commands that apply now, each in the wording {@link #execute} accepts, in a fixed
     * order: go to every other receptacle, open/close here, take, put, use, clean/heat/cool,
     * inventory, look, examine.
     */
    List<String> admissibleActions() {
        List<String> out = new ArrayList<>();
        for (Receptacle r : receptacles) {
            if (!r.name().equals(location)) {
                out.add("go to " + r.name());
            }
        }
        Receptacle here = location == null ? null : receptacleByName.get(location);
        if (here != null) {
            if (here.type().openable) {
                out.add((open.contains(here.name()) ? "close " : "open ") + here.name());
            }
            if (accessible(here)) {
                List<Item> inside = contents(here.name());
                if (held == null) {
                    for (Item i : inside) {
                        if (i.type().pickupable()) {
                            out.add("take " + i.name() + " from " + here.name());
                        }
                    }
                } else {
                    out.add("put " + held + " in/on " + here.name());
                }
                for (Item i : inside) {
                    if (i.type().toggleable()) {
                        out.add("use " + i.name());
                    }
                }
            }
            if (held != null) {
                ItemType carried = itemByName.get(held).type();
                if (here.type() == ReceptacleType.SINKBASIN && carried.cleanable()) {
                    out.add("clean " + held + " with " + here.name());
                }
                if (here.type() == ReceptacleType.MICROWAVE && carried.heatable()) {
                    out.add("heat " + held + " with " + here.name());
                }
                if (here.type() == ReceptacleType.FRIDGE && carried.coolable()) {
                    out.add("cool " + held + " with " + here.name());
                }
            }
        }
        out.add("inventory");
        out.add("look");
        if (here != null) {
            out.add("examine " + here.name());
        }
        if (held != null) {
            out.add("examine " + held);
        }
        return out;
    }

    /**
     * Fills in what a command leaves implicit: a bare type name ("fridge", "apple") when just
     * one thing of that type is in reach, and a missing receptacle ("take apple 1") as the
     * one the agent is at. Anything else is left as it is, to fail as inadmissible.
     */
    Command resolve(Command command) {
        List<String> args = new ArrayList<>(command.args());
        for (int k = 0; k < args.size(); k++) {
            Role role = command.verb().roles.get(k);
            String arg = args.get(k);
            if (arg == null) {
                if (role == Role.RECEPTACLE) {
                    args.set(k, location);
                }
            } else if (!receptacleByName.containsKey(arg) && !itemByName.containsKey(arg)) {
                args.set(k, resolveType(arg, role));
            }
        }
        return new Command(command.verb(), args);
    }

    private String resolveType(String word, Role role) {
        List<String> found = new ArrayList<>();
        if (role != Role.OBJECT) {
            receptacles.stream().filter(r -> r.type().label().equals(word)).forEach(r -> found.add(r.name()));
        }
        if (role != Role.RECEPTACLE) {
            inReach().stream().filter(i -> i.type().label().equals(word)).forEach(i -> found.add(i.name()));
        }
        return found.size() == 1 ? found.get(0) : word;
    }

    /** The items the agent could name without a number: the carried one and those visible here. */
    private List<Item> inReach() {
        List<Item> out = new ArrayList<>();
        if (held != null) {
            out.add(itemByName.get(held));
        }
        Receptacle here = location == null ? null : receptacleByName.get(location);
        if (here != null && accessible(here)) {
            out.addAll(contents(here.name()));
        }
        return out;
    }

    /**
     * Applies the command if it is admissible now and returns ALFWorld's feedback; empty
     * (the caller says "Nothing happens.") when it does not apply, leaving the state as it was.
     */
    Optional<String> execute(Command command) {
        Command c = resolve(command);
        if (!c.complete() || !admissibleActions().contains(c.canonical())) {
            return Optional.empty();
        }
        List<String> a = c.args();
        return Optional.of(switch (c.verb()) {
            case GO -> {
                location = a.get(0);
                yield "You arrive at " + location + ". " + describe(receptacleByName.get(location));
            }
            case OPEN -> {
                open.add(a.get(0));
                yield "You open the " + a.get(0) + ". " + describe(receptacleByName.get(a.get(0)));
            }
            case CLOSE -> {
                open.remove(a.get(0));
                yield "You close the " + a.get(0) + ".";
            }
            case TAKE -> {
                held = a.get(0);
                itemLocation.remove(held);
                yield "You pick up the " + held + " from the " + a.get(1) + ".";
            }
            case PUT -> {
                itemLocation.put(held, a.get(1));
                held = null;
                yield "You put the " + a.get(0) + " in/on the " + a.get(1) + ".";
            }
            case CLEAN -> {
                flags.get(a.get(0)).add(Flag.CLEAN);
                yield "You clean the " + a.get(0) + " using the " + a.get(1) + ".";
            }
            case HEAT -> {
                flags.get(a.get(0)).add(Flag.HOT);
                flags.get(a.get(0)).remove(Flag.COOL);
                yield "You heat the " + a.get(0) + " using the " + a.get(1) + ".";
            }
            case COOL -> {
                flags.get(a.get(0)).add(Flag.COOL);
                flags.get(a.get(0)).remove(Flag.HOT);
                yield "You cool the " + a.get(0) + " using the " + a.get(1) + ".";
            }
            case USE -> {
                EnumSet<Flag> f = flags.get(a.get(0));
                boolean on = !f.remove(Flag.ON);
                if (on) {
                    f.add(Flag.ON);
                }
                yield "You turn " + (on ? "on" : "off") + " the " + a.get(0) + ".";
            }
            case INVENTORY -> held == null ? "You are not carrying anything." : "You are carrying: a " + held + ".";
            case LOOK -> location == null ? roomDescription()
                    : "You are facing the " + location + ". Next to it, you see nothing.";
            case EXAMINE -> {
                Receptacle r = receptacleByName.get(a.get(0));
                yield r != null ? describe(r) : describeItem(a.get(0));
            }
        });
    }

    /** "You are in the middle of a room. Looking quickly around you, you see a cabinet 1, ..." */
    String roomDescription() {
        return "You are in the middle of a room. Looking quickly around you, you see "
                + list(receptacles.stream().map(Receptacle::name).toList()) + ".";
    }

    private String describe(Receptacle r) {
        if (r.type().openable && !open.contains(r.name())) {
            return "The " + r.name() + " is closed.";
        }
        String seen = list(contents(r.name()).stream().map(Item::name).toList());
        return r.type().openable
                ? "The " + r.name() + " is open. In it, you see " + seen + "."
                : "On the " + r.name() + ", you see " + seen + ".";
    }

    private String describeItem(String name) {
        EnumSet<Flag> f = flags.get(name);
        if (f.isEmpty()) {
            return "There's nothing special about " + name + ".";
        }
        if (f.equals(EnumSet.of(Flag.ON))) {
            return "The " + name + " is turned on.";
        }
        return "The " + name + " is " + f.stream().map(Flag::label).collect(Collectors.joining(" and ")) + ".";
    }

    /** ALFWorld's list: "nothing", "a apple 1", "a apple 1, and a mug 2", "a x, a y, and a z". */
    static String list(List<String> names) {
        if (names.isEmpty()) {
            return "nothing";
        }
        if (names.size() == 1) {
            return "a " + names.get(0);
        }
        List<String> withArticles = names.stream().map(n -> "a " + n).toList();
        return String.join(", ", withArticles.subList(0, names.size() - 1)) + ", and " + withArticles.get(names.size() - 1);
    }

    /**
     * The state alone, one line per fact in a fixed order: where the agent is, what it
     * carries, then every receptacle with its open/closed state and contents with their
     * flags. Equal states give equal text and different states different text.
     */
    String anchor() {
        StringBuilder sb = new StringBuilder();
        sb.append("at: ").append(location == null ? "middle of room" : location).append('\n');
        sb.append("holding: ").append(held == null ? "nothing" : withFlags(held)).append('\n');
        for (Receptacle r : receptacles) {
            sb.append(r.name());
            if (r.type().openable) {
                sb.append(open.contains(r.name()) ? " (open)" : " (closed)");
            }
            List<Item> inside = contents(r.name());
            sb.append(": ").append(inside.isEmpty() ? "nothing"
                    : inside.stream().map(i -> withFlags(i.name())).collect(Collectors.joining(", ")));
            sb.append('\n');
        }
        return sb.toString().stripTrailing();
    }

    private String withFlags(String item) {
        EnumSet<Flag> f = flags.get(item);
        return f.isEmpty() ? item : item + " [" + f.stream().map(Flag::label).collect(Collectors.joining(",")) + "]";
    }

    private static String typeWord(String name) {
        int space = name.lastIndexOf(' ');
        return space < 0 ? name : name.substring(0, space);
    }

    private static int number(String name) {
        int space = name.lastIndexOf(' ');
        try {
            return space < 0 ? 0 : Integer.parseInt(name.substring(space + 1));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    @Override
    public String toString() {
        return anchor();
    }
}
