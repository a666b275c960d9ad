package io.rollout.policy.text.jinja;

import java.util.HashMap;
import java.util.Map;

/**
 * One frame of variables. The template's top level is the root frame (holding the render
 * variables); each loop iteration, macro call and {@code with} block gets a child frame, so a
 * {@code set} inside a loop does not leak out of it (that is what {@code namespace} is for).
 */
final class Scope {

    /** What every frame of one render shares. */
    static final class Render {
        final Map<String, Object> globals;
        int depth;

        Render(Map<String, Object> globals) {
            this.globals = globals;
        }
    }

    final Scope parent;
    final Render render;
    private final Map<String, Object> vars = new HashMap<>();

    Scope(Scope parent, Render render) {
        this.parent = parent;
        this.render = render;
    }

    Scope child() {
        return new Scope(this, render);
    }

    Object lookup(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            if (s.vars.containsKey(name)) {
                return s.vars.get(name);
            }
        }
        if (render.globals.containsKey(name)) {
            return render.globals.get(name);
        }
        return Undefined.named(name);
    }

    void set(String name, Object value) {
        vars.put(name, value);
    }
}
