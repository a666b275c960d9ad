package io.rollout.policy.text.jinja;

import io.rollout.policy.text.jinja.Lexer.Token;
import io.rollout.policy.text.jinja.Lexer.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the node tree from tokens with Jinja2's grammar and operator precedence (filters and
 * tests bind tighter than arithmetic, so {@code a + b | trim} trims {@code b} only). Unknown
 * filters, tests and tags fail here, before anything renders.
 *
 * <p>Longer than most classes because it is one recursive-descent parser of the whole grammar, one
 * method per precedence level and tag, as Jinja2's own parser is.
 */
final class Parser {

    private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Token> tokens;
    private int pos;
    private int loopDepth;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        List<Node> body = p.subparse(List.of(), null);
        p.expect(Type.EOF);
        return body;
    }

    // ---- token stream ----

    private Token peek() {
        return tokens.get(pos);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(pos);
        if (t.type() != Type.EOF) {
            pos++;
        }
        return t;
    }

    private TemplateException fail(Token at, String message) {
        return new TemplateException(at.line(), message);
    }

    private Token expect(Type type) {
        Token t = peek();
        if (t.type() != type) {
            throw fail(t, "expected " + describe(type) + ", got " + t.describe());
        }
        return next();
    }

    private static String describe(Type type) {
        switch (type) {
            case EOF:
                return "end of template";
            case BLOCK_END:
                return "'%}'";
            case VAR_END:
                return "'}}'";
            case NAME:
                return "a name";
            default:
                return type.name().toLowerCase();
        }
    }

    private void expectOp(String op) {
        Token t = peek();
        if (!t.isOp(op)) {
            throw fail(t, "expected '" + op + "', got " + t.describe());
        }
        next();
    }

    private void expectName(String name) {
        Token t = peek();
        if (!t.isName(name)) {
            throw fail(t, "expected '" + name + "', got " + t.describe());
        }
        next();
    }

    private boolean skipOp(String op) {
        if (peek().isOp(op)) {
            next();
            return true;
        }
        return false;
    }

    private boolean skipName(String name) {
        if (peek().isName(name)) {
            next();
            return true;
        }
        return false;
    }

    // ---- statements ----

    /**
     * Nodes up to a block tag named in {@code end} (the stream is left on that name), or to the
     * end of the template when {@code end} is empty.
     */
    private List<Node> subparse(List<String> end, Token opening) {
        List<Node> body = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case TEXT:
                    next();
                    body.add(new Node.Text(t.line(), t.text()));
                    break;
                case VAR_BEGIN: {
                    next();
                    Expr e = parseTuple(false, true, Set.of(), false);
                    expect(Type.VAR_END);
                    body.add(new Node.Output(t.line(), e));
                    break;
                }
                case BLOCK_BEGIN: {
                    next();
                    Token name = peek();
                    if (name.type() == Type.NAME && end.contains(name.text())) {
                        return body;
                    }
                    Node n = statement();
                    if (n != null) {
                        body.add(n);
                    }
                    break;
                }
                case EOF:
                    if (!end.isEmpty()) {
                        throw fail(opening, "'" + opening.text() + "' is never closed (expected '"
                                + String.join("' or '", end) + "' before the end of the template)");
                    }
                    return body;
                default:
                    throw fail(t, "unexpected " + t.describe());
            }
        }
    }

    private Node statement() {
        Token t = peek();
        if (t.type() != Type.NAME) {
            throw fail(t, "tag name expected, got " + t.describe());
        }
        switch (t.text()) {
            case "if":
                return parseIf();
            case "for":
                return parseFor();
            case "set":
                return parseSet();
            case "macro":
                return parseMacro();
            case "call":
                return parseCallBlock();
            case "filter":
                return parseFilterBlock();
            case "with":
                return parseWith();
            case "generation": {
                next();
                expect(Type.BLOCK_END);
                List<Node> body = subparse(List.of("endgeneration"), t);
                next();
                expect(Type.BLOCK_END);
                return new Node.With(t.line(), List.of(), List.of(), body);
            }
            case "break":
            case "continue":
                next();
                if (loopDepth == 0) {
                    throw fail(t, "'" + t.text() + "' outside of a loop");
                }
                expect(Type.BLOCK_END);
                return new Node.Jump(t.line(), t.text().equals("break") ? Node.LoopSignal.BREAK
                        : Node.LoopSignal.CONTINUE);
            case "include":
            case "import":
            case "from":
            case "extends":
            case "block":
                throw fail(t, "the '" + t.text() + "' tag is not supported (a chat template has no other "
                        + "templates to load)");
            default:
                throw fail(t, "unknown tag '" + t.text() + "'");
        }
    }

    private Node parseIf() {
        Token start = next();
        List<Expr> conditions = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> otherwise = List.of();
        conditions.add(parseTuple(false, false, Set.of(), false));
        expect(Type.BLOCK_END);
        bodies.add(subparse(List.of("elif", "else", "endif"), start));
        while (true) {
            Token tag = next();
            if (tag.isName("elif")) {
                conditions.add(parseTuple(false, false, Set.of(), false));
                expect(Type.BLOCK_END);
                bodies.add(subparse(List.of("elif", "else", "endif"), start));
            } else if (tag.isName("else")) {
                expect(Type.BLOCK_END);
                otherwise = subparse(List.of("endif"), start);
                next();
                expect(Type.BLOCK_END);
                break;
            } else {
                expect(Type.BLOCK_END);
                break;
            }
        }
        return new Node.If(start.line(), conditions, bodies, otherwise);
    }

    private Node parseFor() {
        Token start = next();
        Node.Target target = assignTarget(false, Set.of("in"));
        expectName("in");
        Expr iterable = parseTuple(false, false, Set.of("recursive"), false);
        Expr filter = null;
        if (skipName("if")) {
            filter = parseExpression(true);
        }
        if (peek().isName("recursive")) {
            throw fail(peek(), "recursive loops are not supported");
        }
        expect(Type.BLOCK_END);
        loopDepth++;
        List<Node> body = subparse(List.of("endfor", "else"), start);
        loopDepth--;
        List<Node> otherwise = List.of();
        if (next().isName("else")) {
            expect(Type.BLOCK_END);
            otherwise = subparse(List.of("endfor"), start);
            next();
        }
        expect(Type.BLOCK_END);
        return new Node.For(start.line(), target, iterable, filter, body, otherwise);
    }

    private Node parseSet() {
        Token start = next();
        Node.Target target = assignTarget(true, Set.of());
        if (skipOp("=")) {
            Expr value = parseTuple(false, true, Set.of(), false);
            expect(Type.BLOCK_END);
            return new Node.Set(start.line(), target, value);
        }
        Expr.Filter filter = null;
        while (peek().isOp("|")) {
            filter = parseFilter(filter);
        }
        expect(Type.BLOCK_END);
        List<Node> body = subparse(List.of("endset"), start);
        next();
        expect(Type.BLOCK_END);
        return new Node.SetBlock(start.line(), target, filter, body);
    }

    private Node parseMacro() {
        Token start = next();
        Token name = expect(Type.NAME);
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        parseSignature(params, defaults);
        expect(Type.BLOCK_END);
        int outerLoops = loopDepth;
        loopDepth = 0;
        List<Node> body = subparse(List.of("endmacro"), start);
        loopDepth = outerLoops;
        next();
        skipName(name.text());
        expect(Type.BLOCK_END);
        return new Node.MacroDef(start.line(), name.text(), params, defaults, body);
    }

    private void parseSignature(List<String> params, List<Expr> defaults) {
        expectOp("(");
        while (!peek().isOp(")")) {
            if (!params.isEmpty()) {
                expectOp(",");
                if (peek().isOp(")")) {
                    break;
                }
            }
            Token p = expect(Type.NAME);
            params.add(p.text());
            if (skipOp("=")) {
                defaults.add(parseExpression(true));
            } else {
                if (!defaults.isEmpty() && defaults.get(defaults.size() - 1) != null) {
                    throw fail(p, "non-default argument '" + p.text() + "' follows default argument");
                }
                defaults.add(null);
            }
        }
        next();
    }

    private Node parseCallBlock() {
        Token start = next();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        if (peek().isOp("(")) {
            parseSignature(params, defaults);
        }
        Expr call = parseExpression(true);
        if (!(call instanceof Expr.Call)) {
            throw fail(start, "expected a call after 'call'");
        }
        expect(Type.BLOCK_END);
        int outerLoops = loopDepth;
        loopDepth = 0;
        List<Node> body = subparse(List.of("endcall"), start);
        loopDepth = outerLoops;
        next();
        expect(Type.BLOCK_END);
        return new Node.CallBlock(start.line(), (Expr.Call) call,
                new Node.MacroDef(start.line(), "caller", params, defaults, body));
    }

    private Node parseFilterBlock() {
        Token start = next();
        Expr.Filter filter = parseFilter(null, false);
        while (peek().isOp("|")) {
            filter = parseFilter(filter);
        }
        expect(Type.BLOCK_END);
        List<Node> body = subparse(List.of("endfilter"), start);
        next();
        expect(Type.BLOCK_END);
        return new Node.FilterBlock(start.line(), filter, body);
    }

    private Node parseWith() {
        Token start = next();
        List<Node.Target> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (peek().type() != Type.BLOCK_END) {
            if (!targets.isEmpty()) {
                expectOp(",");
            }
            targets.add(assignTarget(false, Set.of()));
            expectOp("=");
            values.add(parseExpression(true));
        }
        next();
        List<Node> body = subparse(List.of("endwith"), start);
        next();
        expect(Type.BLOCK_END);
        return new Node.With(start.line(), targets, values, body);
    }

    /** A name, {@code a, b} / {@code (a, b)}, or (for set) {@code ns.attr}. */
    private Node.Target assignTarget(boolean withNamespace, Set<String> endNames) {
        Token t = peek();
        if (withNamespace && t.type() == Type.NAME && peek(1).isOp(".")) {
            next();
            next();
            Token attr = expect(Type.NAME);
            return new Node.Target(List.of(t.text()), false, attr.text());
        }
        boolean parens = skipOp("(");
        List<String> names = new ArrayList<>();
        boolean tuple = parens;
        while (true) {
            Token name = peek();
            if (name.type() != Type.NAME || isConstantName(name.text())) {
                throw fail(name, "cannot assign to " + name.describe());
            }
            next();
            names.add(name.text());
            if (!skipOp(",")) {
                break;
            }
            tuple = true;
            Token after = peek();
            if (after.type() != Type.NAME || endNames.contains(after.text())) {
                break;
            }
        }
        if (parens) {
            expectOp(")");
        }
        return new Node.Target(names, tuple, null);
    }

    private static boolean isConstantName(String name) {
        return Set.of("true", "false", "none", "True", "False", "None").contains(name);
    }

    // ---- expressions ----

    private boolean isTupleEnd(Set<String> extraEnd) {
        Token t = peek();
        if (t.type() == Type.VAR_END || t.type() == Type.BLOCK_END || t.isOp(")")) {
            return true;
        }
        return t.type() == Type.NAME && extraEnd.contains(t.text());
    }

    /** Comma-separated expressions: one is itself, more (or a trailing comma) a tuple. */
    private Expr parseTuple(boolean simplified, boolean withCondexpr, Set<String> extraEnd, boolean explicitParens) {
        int line = peek().line();
        List<Expr> items = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!items.isEmpty()) {
                expectOp(",");
            }
            if (isTupleEnd(extraEnd)) {
                break;
            }
            items.add(simplified ? parsePrimary() : parseExpression(withCondexpr));
            if (peek().isOp(",")) {
                isTuple = true;
            } else {
                break;
            }
        }
        if (!isTuple) {
            if (!items.isEmpty()) {
                return items.get(0);
            }
            if (!explicitParens) {
                throw fail(peek(), "expected an expression, got " + peek().describe());
            }
        }
        return new Expr.ListLit(line, items, true);
    }

    private Expr parseExpression(boolean withCondexpr) {
        return withCondexpr ? parseCondexpr() : parseOr();
    }

    private Expr parseCondexpr() {
        Expr e = parseOr();
        while (peek().isName("if")) {
            Token t = next();
            Expr cond = parseOr();
            Expr otherwise = skipName("else") ? parseCondexpr() : null;
            e = new Expr.Cond(t.line(), cond, e, otherwise);
        }
        return e;
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (peek().isName("or")) {
            Token t = next();
            left = new Expr.Binary(t.line(), "or", left, parseAnd());
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (peek().isName("and")) {
            Token t = next();
            left = new Expr.Binary(t.line(), "and", left, parseNot());
        }
        return left;
    }

    private Expr parseNot() {
        if (peek().isName("not")) {
            Token t = next();
            return new Expr.Not(t.line(), parseNot());
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        int line = peek().line();
        Expr first = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.type() == Type.OP && COMPARE_OPS.contains(t.text())) {
                next();
                ops.add(t.text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && peek(1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            rest.add(parseMath1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(line, first, ops, rest);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token t = next();
            left = new Expr.Binary(t.line(), t.text(), left, parseConcat());
        }
        return left;
    }

    private Expr parseConcat() {
        Expr left = parseMath2();
        while (peek().isOp("~")) {
            Token t = next();
            left = new Expr.Binary(t.line(), "~", left, parseMath2());
        }
        return left;
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token t = next();
            left = new Expr.Binary(t.line(), t.text(), left, parsePow());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (peek().isOp("**")) {
            Token t = next();
            left = new Expr.Binary(t.line(), "**", left, parseUnary(true));
        }
        return left;
    }

    private Expr parseUnary(boolean withFilter) {
        Token t = peek();
        Expr e;
        if (t.isOp("-") || t.isOp("+")) {
            next();
            e = new Expr.Neg(t.line(), parseUnary(false), t.isOp("-"));
        } else {
            e = parsePrimary();
        }
        e = parsePostfix(e);
        if (withFilter) {
            e = parseFilterExpr(e);
        }
        return e;
    }

    private Expr parsePrimary() {
        Token t = peek();
        switch (t.type()) {
            case NAME:
                next();
                switch (t.text()) {
                    case "true":
                    case "True":
                        return new Expr.Const(t.line(), true);
                    case "false":
                    case "False":
                        return new Expr.Const(t.line(), false);
                    case "none":
                    case "None":
                        return new Expr.Const(t.line(), null);
                    default:
                        return new Expr.Name(t.line(), t.text());
                }
            case STRING: {
                next();
                StringBuilder sb = new StringBuilder((String) t.value());
                while (peek().type() == Type.STRING) {
                    sb.append((String) next().value());
                }
                return new Expr.Const(t.line(), sb.toString());
            }
            case INT:
            case FLOAT:
                next();
                return new Expr.Const(t.line(), t.value());
            case OP:
                if (t.isOp("(")) {
                    next();
                    Expr e = parseTuple(false, true, Set.of(), true);
                    expectOp(")");
                    return e;
                }
                if (t.isOp("[")) {
                    return parseList();
                }
                if (t.isOp("{")) {
                    return parseDict();
                }
                break;
            default:
                break;
        }
        throw fail(t, "unexpected " + t.describe());
    }

    private Expr parseList() {
        Token start = next();
        List<Expr> items = new ArrayList<>();
        while (!peek().isOp("]")) {
            if (!items.isEmpty()) {
                expectOp(",");
            }
            if (peek().isOp("]")) {
                break;
            }
            items.add(parseExpression(true));
        }
        expectOp("]");
        return new Expr.ListLit(start.line(), items, false);
    }

    private Expr parseDict() {
        Token start = next();
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!peek().isOp("}")) {
            if (!keys.isEmpty()) {
                expectOp(",");
            }
            if (peek().isOp("}")) {
                break;
            }
            keys.add(parseExpression(true));
            expectOp(":");
            values.add(parseExpression(true));
        }
        expectOp("}");
        return new Expr.DictLit(start.line(), keys, values);
    }

    private Expr parsePostfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp(".") || t.isOp("[")) {
                e = parseSubscript(e);
            } else if (t.isOp("(")) {
                e = parseCall(e);
            } else {
                return e;
            }
        }
    }

    private Expr parseFilterExpr(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp("|")) {
                e = parseFilter(e);
            } else if (t.isName("is")) {
                e = parseTest(e);
            } else if (t.isOp("(")) {
                e = parseCall(e);
            } else {
                return e;
            }
        }
    }

    private Expr parseSubscript(Expr e) {
        Token t = next();
        if (t.isOp(".")) {
            Token attr = next();
            if (attr.type() == Type.NAME) {
                return new Expr.GetAttr(t.line(), e, attr.text());
            }
            if (attr.type() == Type.INT) {
                return new Expr.GetItem(t.line(), e, new Expr.Const(attr.line(), attr.value()));
            }
            throw fail(attr, "expected a name or number after '.', got " + attr.describe());
        }
        List<Expr> args = new ArrayList<>();
        while (!peek().isOp("]")) {
            if (!args.isEmpty()) {
                expectOp(",");
            }
            args.add(parseSubscribed());
        }
        expectOp("]");
        Expr key = args.size() == 1 ? args.get(0) : new Expr.ListLit(t.line(), args, true);
        return new Expr.GetItem(t.line(), e, key);
    }

    private Expr parseSubscribed() {
        int line = peek().line();
        Expr start = null;
        if (peek().isOp(":")) {
            next();
        } else {
            start = parseExpression(true);
            if (!peek().isOp(":")) {
                return start;
            }
            next();
        }
        Expr stop = null;
        if (!peek().isOp(":") && !peek().isOp("]") && !peek().isOp(",")) {
            stop = parseExpression(true);
        }
        Expr step = null;
        if (skipOp(":") && !peek().isOp("]") && !peek().isOp(",")) {
            step = parseExpression(true);
        }
        return new Expr.SliceExpr(line, start, stop, step);
    }

    private Expr.ArgList parseArgs() {
        expectOp("(");
        List<Expr> positional = new ArrayList<>();
        Map<String, Expr> keywords = new LinkedHashMap<>();
        boolean first = true;
        while (!peek().isOp(")")) {
            if (!first) {
                expectOp(",");
                if (peek().isOp(")")) {
                    break;
                }
            }
            first = false;
            Token t = peek();
            if (t.isOp("*") || t.isOp("**")) {
                throw fail(t, "*args and **kwargs in calls are not supported");
            }
            if (t.type() == Type.NAME && peek(1).isOp("=")) {
                next();
                next();
                if (keywords.containsKey(t.text())) {
                    throw fail(t, "keyword argument repeated: " + t.text());
                }
                keywords.put(t.text(), parseExpression(true));
            } else {
                if (!keywords.isEmpty()) {
                    throw fail(t, "positional argument follows keyword argument");
                }
                positional.add(parseExpression(true));
            }
        }
        next();
        return new Expr.ArgList(positional, keywords);
    }

    private Expr parseCall(Expr fn) {
        int line = peek().line();
        return new Expr.Call(line, fn, parseArgs());
    }

    private Expr.Filter parseFilter(Expr value) {
        return parseFilter(value, true);
    }

    private Expr.Filter parseFilter(Expr value, boolean pipe) {
        if (pipe) {
            next(); // '|'
        }
        Token name = expect(Type.NAME);
        String full = name.text();
        while (peek().isOp(".")) {
            next();
            full += "." + expect(Type.NAME).text();
        }
        Filters.Fn fn = Filters.get(full);
        if (fn == null) {
            throw fail(name, "unknown filter '" + full + "'");
        }
        Expr.ArgList args = peek().isOp("(") ? parseArgs() : Expr.ArgList.EMPTY;
        return new Expr.Filter(name.line(), value, full, fn, args);
    }

    private Expr parseTest(Expr value) {
        Token is = next();
        boolean negated = skipName("not");
        Token name = expect(Type.NAME);
        String full = name.text();
        while (peek().isOp(".")) {
            next();
            full += "." + expect(Type.NAME).text();
        }
        Tests.Fn fn = Tests.get(full);
        if (fn == null) {
            throw fail(name, "unknown test '" + full + "'");
        }
        Expr.ArgList args = Expr.ArgList.EMPTY;
        Token t = peek();
        if (t.isOp("(")) {
            args = parseArgs();
        } else if ((t.type() == Type.NAME || t.type() == Type.STRING || t.type() == Type.INT
                || t.type() == Type.FLOAT || t.isOp("[") || t.isOp("{"))
                && !t.isName("else") && !t.isName("or") && !t.isName("and")) {
            if (t.isName("is")) {
                throw fail(t, "you cannot chain multiple tests with 'is'");
            }
            args = new Expr.ArgList(List.of(parsePostfix(parsePrimary())), Map.of());
        }
        Expr test = new Expr.Test(is.line(), value, full, fn, args);
        return negated ? new Expr.Not(is.line(), test) : test;
    }
}
