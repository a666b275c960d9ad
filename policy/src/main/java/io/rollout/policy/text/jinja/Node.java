package io.rollout.policy.text.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A statement node: renders itself into the output. */
abstract class Node {

    /** Deeper than this many nested macro calls is taken for runaway recursion. */
    static final int MAX_CALL_DEPTH = 200;

    final int line;

    Node(int line) {
        this.line = line;
    }

    abstract void render(Scope s, StringBuilder out);

    static void renderAll(List<Node> body, Scope s, StringBuilder out) {
        for (Node n : body) {
            n.render(s, out);
        }
    }

    /** {@code break} and {@code continue}, unwinding to the innermost loop. */
    static final class LoopSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final LoopSignal BREAK = new LoopSignal();
        static final LoopSignal CONTINUE = new LoopSignal();

        private LoopSignal() {
            super(null, null, false, false);
        }
    }

    static final class Text extends Node {
        final String text;

        Text(int line, String text) {
            super(line);
            this.text = text;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            out.append(text);
        }
    }

    static final class Output extends Node {
        final Expr expr;

        Output(int line, Expr expr) {
            super(line);
            this.expr = expr;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            out.append(Py.str(expr.eval(s)));
        }
    }

    static final class If extends Node {
        final List<Expr> conditions;
        final List<List<Node>> bodies;
        final List<Node> otherwise;

        If(int line, List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise) {
            super(line);
            this.conditions = conditions;
            this.bodies = bodies;
            this.otherwise = otherwise;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            for (int i = 0; i < conditions.size(); i++) {
                if (Py.truthy(conditions.get(i).eval(s))) {
                    renderAll(bodies.get(i), s, out);
                    return;
                }
            }
            renderAll(otherwise, s, out);
        }
    }

    /** An assignment target: a name, a tuple of names, or {@code ns.attr}. */
    static final class Target {
        final List<String> names; // one name, or the names of a tuple
        final boolean tuple;
        final String attr; // set for ns.attr

        Target(List<String> names, boolean tuple, String attr) {
            this.names = names;
            this.tuple = tuple;
            this.attr = attr;
        }

        void assign(Scope s, Object value, int line) {
            if (attr != null) {
                Object ns = s.lookup(names.get(0));
                if (!(ns instanceof Namespace)) {
                    throw new TemplateException(line, "cannot assign attribute on non-namespace object '"
                            + names.get(0) + "'");
                }
                ((Namespace) ns).attrs.put(attr, value);
                return;
            }
            if (!tuple) {
                s.set(names.get(0), value);
                return;
            }
            List<Object> items;
            try {
                items = Py.iterate(value);
            } catch (JinjaError e) {
                throw new TemplateException(line, "cannot unpack non-iterable " + Py.typeName(value) + " object");
            }
            if (items.size() != names.size()) {
                throw new TemplateException(line, (items.size() > names.size() ? "too many" : "not enough")
                        + " values to unpack (expected " + names.size() + ", got " + items.size() + ")");
            }
            for (int i = 0; i < names.size(); i++) {
                s.set(names.get(i), items.get(i));
            }
        }
    }

    static final class For extends Node {
        final Target target;
        final Expr iterable;
        final Expr filter;
        final List<Node> body;
        final List<Node> otherwise;

        For(int line, Target target, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise) {
            super(line);
            this.target = target;
            this.iterable = iterable;
            this.filter = filter;
            this.body = body;
            this.otherwise = otherwise;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            Object it = iterable.eval(s);
            List<Object> items;
            try {
                items = Py.iterate(it);
            } catch (JinjaError e) {
                throw new TemplateException(iterable.line, e.getMessage());
            }
            if (filter != null) {
                List<Object> kept = new ArrayList<>();
                for (Object item : items) {
                    Scope f = s.child();
                    target.assign(f, item, line);
                    if (Py.truthy(filter.eval(f))) {
                        kept.add(item);
                    }
                }
                items = kept;
            }
            if (items.isEmpty()) {
                renderAll(otherwise, s.child(), out);
                return;
            }
            Object[] changed = new Object[1];
            for (int i = 0; i < items.size(); i++) {
                Scope iteration = s.child();
                iteration.set("loop", new LoopInfo(items, i, changed));
                target.assign(iteration, items.get(i), line);
                try {
                    renderAll(body, iteration, out);
                } catch (LoopSignal signal) {
                    if (signal == LoopSignal.BREAK) {
                        break;
                    }
                }
            }
        }
    }

    static final class Jump extends Node {
        final LoopSignal signal;

        Jump(int line, LoopSignal signal) {
            super(line);
            this.signal = signal;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            throw signal;
        }
    }

    static final class Set extends Node {
        final Target target;
        final Expr value;

        Set(int line, Target target, Expr value) {
            super(line);
            this.target = target;
            this.value = value;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            target.assign(s, value.eval(s), line);
        }
    }

    /** {@code {% set x %}body{% endset %}}, optionally filtered. */
    static final class SetBlock extends Node {
        final Target target;
        final Expr.Filter filter;
        final List<Node> body;

        SetBlock(int line, Target target, Expr.Filter filter, List<Node> body) {
            super(line);
            this.target = target;
            this.filter = filter;
            this.body = body;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            StringBuilder sb = new StringBuilder();
            renderAll(body, s, sb);
            Object v = filter == null ? sb.toString() : filter.applyTo(sb.toString(), s);
            target.assign(s, v, line);
        }
    }

    /** {@code {% filter upper %}body{% endfilter %}}. */
    static final class FilterBlock extends Node {
        final Expr.Filter filter;
        final List<Node> body;

        FilterBlock(int line, Expr.Filter filter, List<Node> body) {
            super(line);
            this.filter = filter;
            this.body = body;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            StringBuilder sb = new StringBuilder();
            renderAll(body, s, sb);
            out.append(Py.str(filter.applyTo(sb.toString(), s)));
        }
    }

    /** A block rendered in a child frame: {@code with} (after its assignments) and {@code generation}. */
    static final class With extends Node {
        final List<Target> targets;
        final List<Expr> values;
        final List<Node> body;

        With(int line, List<Target> targets, List<Expr> values, List<Node> body) {
            super(line);
            this.targets = targets;
            this.values = values;
            this.body = body;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            Scope inner = s.child();
            for (int i = 0; i < targets.size(); i++) {
                targets.get(i).assign(inner, values.get(i).eval(s), line);
            }
            renderAll(body, inner, out);
        }
    }

    static final class MacroDef extends Node {
        final String name;
        final List<String> params;
        final List<Expr> defaults; // null entries: required
        final List<Node> body;

        MacroDef(int line, String name, List<String> params, List<Expr> defaults, List<Node> body) {
            super(line);
            this.name = name;
            this.params = params;
            this.defaults = defaults;
            this.body = body;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            s.set(name, new Macro(this, s));
        }
    }

    /** A macro bound to the frame it was defined in. */
    static final class Macro implements JinjaCallable {
        final MacroDef def;
        final Scope closure;

        Macro(MacroDef def, Scope closure) {
            this.def = def;
            this.closure = closure;
        }

        @Override
        public Object call(Args args) {
            Scope.Render render = closure.render;
            if (render.depth >= MAX_CALL_DEPTH) {
                throw new JinjaError("macro '" + def.name + "' nested deeper than " + MAX_CALL_DEPTH + " calls");
            }
            Scope s = closure.child();
            List<Object> varargs = new ArrayList<>();
            Map<String, Object> kwargs = new LinkedHashMap<>(args.keywords);
            Object caller = kwargs.remove("caller");
            for (int i = 0; i < def.params.size(); i++) {
                String p = def.params.get(i);
                if (i < args.positional.size()) {
                    if (kwargs.containsKey(p)) {
                        throw new JinjaError("macro '" + def.name + "' got multiple values for argument '" + p + "'");
                    }
                    s.set(p, args.positional.get(i));
                } else if (kwargs.containsKey(p)) {
                    s.set(p, kwargs.remove(p));
                } else if (def.defaults.get(i) != null) {
                    s.set(p, def.defaults.get(i).eval(s));
                } else {
                    s.set(p, new Undefined("parameter '" + p + "' was not provided"));
                }
            }
            for (int i = def.params.size(); i < args.positional.size(); i++) {
                varargs.add(args.positional.get(i));
            }
            s.set("varargs", Tuple.of(varargs));
            s.set("kwargs", kwargs);
            s.set("caller", caller == null ? Undefined.named("caller") : caller);
            StringBuilder sb = new StringBuilder();
            render.depth++;
            try {
                renderAll(def.body, s, sb);
            } finally {
                render.depth--;
            }
            return sb.toString();
        }
    }

    /** {@code {% call(params) macro(args) %}body{% endcall %}}: the body is the macro's {@code caller()}. */
    static final class CallBlock extends Node {
        final Expr.Call call;
        final MacroDef caller;

        CallBlock(int line, Expr.Call call, MacroDef caller) {
            super(line);
            this.call = call;
            this.caller = caller;
        }

        @Override
        void render(Scope s, StringBuilder out) {
            Object fn = call.fn.eval(s);
            Args a = call.args.eval(s);
            Map<String, Object> kw = new LinkedHashMap<>(a.keywords);
            kw.put("caller", new Macro(caller, s));
            try {
                out.append(Py.str(Expr.Call.call(fn, new Args(a.positional, kw))));
            } catch (JinjaError e) {
                throw new TemplateException(line, e.getMessage());
            }
        }
    }
}
