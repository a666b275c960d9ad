package io.rollout.policy.text.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An expression node. A failure inside it becomes a {@link TemplateException} naming its line.
 *
 * <p>Longer than most classes because every expression node of the template language is a small
 * nested class here, so the evaluator reads as one piece beside the parser that builds it.
 */
abstract class Expr {

    final int line;

    Expr(int line) {
        this.line = line;
    }

    final Object eval(Scope s) {
        try {
            return doEval(s);
        } catch (TemplateException | Node.LoopSignal e) {
            throw e;
        } catch (JinjaError e) {
            throw new TemplateException(line, e.getMessage());
        } catch (ArithmeticException | ClassCastException | IndexOutOfBoundsException
                | UnsupportedOperationException | IllegalArgumentException e) {
            throw new TemplateException(line, e.toString());
        } catch (StackOverflowError e) {
            throw new TemplateException(line, "recursion too deep");
        }
    }

    abstract Object doEval(Scope s);

    static final class Const extends Expr {
        final Object value;

        Const(int line, Object value) {
            super(line);
            this.value = value;
        }

        @Override
        Object doEval(Scope s) {
            return value;
        }
    }

    static final class Name extends Expr {
        final String name;

        Name(int line, String name) {
            super(line);
            this.name = name;
        }

        @Override
        Object doEval(Scope s) {
            return s.lookup(name);
        }
    }

    static final class ListLit extends Expr {
        final List<Expr> items;
        final boolean tuple;

        ListLit(int line, List<Expr> items, boolean tuple) {
            super(line);
            this.items = items;
            this.tuple = tuple;
        }

        @Override
        Object doEval(Scope s) {
            List<Object> out = new ArrayList<>(items.size());
            for (Expr e : items) {
                out.add(e.eval(s));
            }
            return tuple ? Tuple.of(out) : out;
        }
    }

    static final class DictLit extends Expr {
        final List<Expr> keys;
        final List<Expr> values;

        DictLit(int line, List<Expr> keys, List<Expr> values) {
            super(line);
            this.keys = keys;
            this.values = values;
        }

        @Override
        Object doEval(Scope s) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                Object k = keys.get(i).eval(s);
                if (k instanceof List && !(k instanceof Tuple) || k instanceof Map) {
                    throw new JinjaError("unhashable type: '" + Py.typeName(k) + "'");
                }
                Object existing = Py.findKey(out, k);
                out.put(existing == Py.MISSING ? k : existing, values.get(i).eval(s));
            }
            return out;
        }
    }

    static final class GetAttr extends Expr {
        final Expr obj;
        final String name;

        GetAttr(int line, Expr obj, String name) {
            super(line);
            this.obj = obj;
            this.name = name;
        }

        @Override
        Object doEval(Scope s) {
            return Py.getattr(obj.eval(s), name);
        }
    }

    static final class GetItem extends Expr {
        final Expr obj;
        final Expr key;

        GetItem(int line, Expr obj, Expr key) {
            super(line);
            this.obj = obj;
            this.key = key;
        }

        @Override
        Object doEval(Scope s) {
            return Py.getitem(obj.eval(s), key.eval(s));
        }
    }

    static final class SliceExpr extends Expr {
        final Expr start;
        final Expr stop;
        final Expr step;

        SliceExpr(int line, Expr start, Expr stop, Expr step) {
            super(line);
            this.start = start;
            this.stop = stop;
            this.step = step;
        }

        @Override
        Object doEval(Scope s) {
            return new Py.Slice(bound(start, s), bound(stop, s), bound(step, s));
        }

        private static Object bound(Expr e, Scope s) {
            if (e == null) {
                return null;
            }
            Object v = e.eval(s);
            return v instanceof Undefined ? null : v;
        }
    }

    /** Positional and keyword argument expressions of a call, filter or test. */
    static final class ArgList {
        static final ArgList EMPTY = new ArgList(List.of(), Map.of());

        final List<Expr> positional;
        final Map<String, Expr> keywords;

        ArgList(List<Expr> positional, Map<String, Expr> keywords) {
            this.positional = positional;
            this.keywords = keywords;
        }

        Args eval(Scope s, Object... leading) {
            List<Object> pos = new ArrayList<>(leading.length + positional.size());
            pos.addAll(List.of(leading));
            for (Expr e : positional) {
                pos.add(e.eval(s));
            }
            Map<String, Object> kw = new LinkedHashMap<>();
            for (Map.Entry<String, Expr> e : keywords.entrySet()) {
                kw.put(e.getKey(), e.getValue().eval(s));
            }
            return new Args(pos, kw);
        }
    }

    static final class Call extends Expr {
        final Expr fn;
        final ArgList args;

        Call(int line, Expr fn, ArgList args) {
            super(line);
            this.fn = fn;
            this.args = args;
        }

        @Override
        Object doEval(Scope s) {
            Object f = fn.eval(s);
            return call(f, args.eval(s));
        }

        static Object call(Object f, Args args) {
            if (f instanceof JinjaCallable) {
                return ((JinjaCallable) f).call(args);
            }
            if (f instanceof Undefined) {
                throw ((Undefined) f).error();
            }
            throw new JinjaError("'" + Py.typeName(f) + "' object is not callable");
        }
    }

    static final class Filter extends Expr {
        final Expr value; // null inside a filter block or a block set, where the body is the value
        final String name;
        final Filters.Fn fn;
        final ArgList args;

        Filter(int line, Expr value, String name, Filters.Fn fn, ArgList args) {
            super(line);
            this.value = value;
            this.name = name;
            this.fn = fn;
            this.args = args;
        }

        @Override
        Object doEval(Scope s) {
            return fn.apply(value.eval(s), args.eval(s));
        }

        /** Applies this filter (and the filters it was chained onto) to a rendered block body. */
        Object applyTo(Object body, Scope s) {
            try {
                Object v = value == null ? body : ((Filter) value).applyTo(body, s);
                return fn.apply(v, args.eval(s));
            } catch (JinjaError e) {
                throw new TemplateException(line, e.getMessage());
            }
        }
    }

    static final class Test extends Expr {
        final Expr value;
        final String name;
        final Tests.Fn fn;
        final ArgList args;

        Test(int line, Expr value, String name, Tests.Fn fn, ArgList args) {
            super(line);
            this.value = value;
            this.name = name;
            this.fn = fn;
            this.args = args;
        }

        @Override
        Object doEval(Scope s) {
            return fn.test(value.eval(s), args.eval(s));
        }
    }

    static final class Not extends Expr {
        final Expr operand;

        Not(int line, Expr operand) {
            super(line);
            this.operand = operand;
        }

        @Override
        Object doEval(Scope s) {
            return !Py.truthy(operand.eval(s));
        }
    }

    static final class Neg extends Expr {
        final Expr operand;
        final boolean minus;

        Neg(int line, Expr operand, boolean minus) {
            super(line);
            this.operand = operand;
            this.minus = minus;
        }

        @Override
        Object doEval(Scope s) {
            Object v = operand.eval(s);
            return minus ? Py.neg(v) : Py.pos(v);
        }
    }

    static final class Binary extends Expr {
        final String op;
        final Expr left;
        final Expr right;

        Binary(int line, String op, Expr left, Expr right) {
            super(line);
            this.op = op;
            this.left = left;
            this.right = right;
        }

        @Override
        Object doEval(Scope s) {
            Object a = left.eval(s);
            switch (op) {
                case "and":
                    return Py.truthy(a) ? right.eval(s) : a;
                case "or":
                    return Py.truthy(a) ? a : right.eval(s);
                default:
                    break;
            }
            Object b = right.eval(s);
            switch (op) {
                case "+":
                    return Py.add(a, b);
                case "-":
                    return Py.sub(a, b);
                case "*":
                    return Py.mul(a, b);
                case "/":
                    return Py.truediv(a, b);
                case "//":
                    return Py.floordiv(a, b);
                case "%":
                    return Py.mod(a, b);
                case "**":
                    return Py.pow(a, b);
                case "~":
                    return Py.str(a) + Py.str(b);
                default:
                    throw new IllegalStateException(op);
            }
        }
    }

    /** {@code a < b <= c}: Python's chained comparison, {@code in} and {@code not in} included. */
    static final class Compare extends Expr {
        final Expr first;
        final List<String> ops;
        final List<Expr> rest;

        Compare(int line, Expr first, List<String> ops, List<Expr> rest) {
            super(line);
            this.first = first;
            this.ops = ops;
            this.rest = rest;
        }

        @Override
        Object doEval(Scope s) {
            Object a = first.eval(s);
            for (int i = 0; i < ops.size(); i++) {
                Object b = rest.get(i).eval(s);
                if (!compare(ops.get(i), a, b)) {
                    return false;
                }
                a = b;
            }
            return true;
        }

        static boolean compare(String op, Object a, Object b) {
            switch (op) {
                case "==":
                    return Py.eq(a, b);
                case "!=":
                    return !Py.eq(a, b);
                case "<":
                    return Py.compare(a, b, op) < 0;
                case "<=":
                    return Py.compare(a, b, op) <= 0;
                case ">":
                    return Py.compare(a, b, op) > 0;
                case ">=":
                    return Py.compare(a, b, op) >= 0;
                case "in":
                    return Py.contains(b, a);
                case "not in":
                    return !Py.contains(b, a);
                default:
                    throw new IllegalStateException(op);
            }
        }
    }

    static final class Cond extends Expr {
        final Expr cond;
        final Expr then;
        final Expr otherwise; // null: undefined when false

        Cond(int line, Expr cond, Expr then, Expr otherwise) {
            super(line);
            this.cond = cond;
            this.then = then;
            this.otherwise = otherwise;
        }

        @Override
        Object doEval(Scope s) {
            if (Py.truthy(cond.eval(s))) {
                return then.eval(s);
            }
            return otherwise == null
                    ? new Undefined("the inline if-expression on line " + line
                            + " evaluated to false and no else section was defined")
                    : otherwise.eval(s);
        }
    }
}
