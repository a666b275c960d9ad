package io.rollout.policy.text.jinja;

import java.util.List;

/** The {@code loop} variable of a {@code for} body. */
final class LoopInfo {

    private final List<Object> items;
    private final int index0;
    private final Object[] lastChanged;

    LoopInfo(List<Object> items, int index0, Object[] lastChanged) {
        this.items = items;
        this.index0 = index0;
        this.lastChanged = lastChanged;
    }

    Object attribute(String name) {
        int n = items.size();
        switch (name) {
            case "index":
                return (long) index0 + 1;
            case "index0":
                return (long) index0;
            case "revindex":
                return (long) (n - index0);
            case "revindex0":
                return (long) (n - index0 - 1);
            case "first":
                return index0 == 0;
            case "last":
                return index0 == n - 1;
            case "length":
                return (long) n;
            case "depth":
                return 1L;
            case "depth0":
                return 0L;
            case "previtem":
                return index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
            case "nextitem":
                return index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
            case "cycle":
                return (JinjaCallable) args -> {
                    if (args.size() == 0) {
                        throw new JinjaError("no items for cycling given");
                    }
                    return args.positional.get(index0 % args.size());
                };
            case "changed":
                return (JinjaCallable) args -> {
                    Object value = new Tuple(args.positional.toArray());
                    if (lastChanged[0] != null && Py.eq(lastChanged[0], value)) {
                        return false;
                    }
                    lastChanged[0] = value;
                    return true;
                };
            default:
                return new Undefined("'LoopContext' object has no attribute '" + name + "'");
        }
    }
}
