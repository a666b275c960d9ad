package io.rollout.policy.text.jinja;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits a template into text and tag tokens the way Jinja2's lexer does with Hugging Face's
 * settings: {@code trim_blocks} (the newline after a block or comment tag is dropped),
 * {@code lstrip_blocks} (spaces before a block or comment tag at the start of a line are
 * dropped), {@code -}/{@code +} whitespace control on every tag, {@code raw} blocks, one
 * trailing newline of the source dropped.
 *
 * <p>Longer than most classes because it follows Jinja2's lexer rule by rule (whitespace control,
 * raw blocks, string and number literals) so the two can be read side by side.
 */
final class Lexer {

    enum Type { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Type type, String text, Object value, int line) {
        boolean is(Type t, String s) {
            return type == t && text.equals(s);
        }

        boolean isOp(String s) {
            return is(Type.OP, s);
        }

        boolean isName(String s) {
            return is(Type.NAME, s);
        }

        String describe() {
            switch (type) {
                case EOF:
                    return "end of template";
                case VAR_END:
                case BLOCK_END:
                    return "end of statement block";
                case STRING:
                    return "string " + Py.repr(value);
                default:
                    return "'" + text + "'";
            }
        }
    }

    private static final String[] OPERATORS = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~",
        "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};

    private final String src;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private int line = 1;
    private int lineAt; // the position `line` was counted to
    private boolean lineStarting = true;

    private Lexer(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        this.src = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    static List<Token> tokenize(String source) {
        Lexer l = new Lexer(source);
        l.run();
        return l.tokens;
    }

    private int lineOf(int p) {
        if (p < lineAt) {
            line = 1;
            lineAt = 0;
        }
        for (; lineAt < p; lineAt++) {
            if (src.charAt(lineAt) == '\n') {
                line++;
            }
        }
        return line;
    }

    private TemplateException error(int at, String message) {
        return new TemplateException(lineOf(at), message);
    }

    private void run() {
        int n = src.length();
        while (pos < n) {
            int open = nextTagStart(pos);
            if (open < 0) {
                tokens.add(new Token(Type.TEXT, src.substring(pos), null, lineOf(pos)));
                pos = n;
                break;
            }
            char kind = src.charAt(open + 1);
            char sign = open + 2 < n ? src.charAt(open + 2) : 0;
            if (sign != '-' && sign != '+') {
                sign = 0;
            }
            String text = src.substring(pos, open);
            if (sign == '-') {
                text = Py.strip(text, null, false, true);
            } else if (sign != '+' && kind != '{') {
                text = lstrip(text);
            }
            if (!text.isEmpty()) {
                tokens.add(new Token(Type.TEXT, text, null, lineOf(pos)));
            }
            int after = open + (sign == 0 ? 2 : 3);
            if (kind == '#') {
                comment(open, after);
            } else if (kind == '%' && rawBegin(after) >= 0) {
                raw(rawBegin(after));
            } else {
                tag(kind == '{' ? Type.VAR_BEGIN : Type.BLOCK_BEGIN, open, after);
            }
        }
        tokens.add(new Token(Type.EOF, "", null, lineOf(n)));
    }

    private int nextTagStart(int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    /** lstrip_blocks: drop the spaces between the line start and a block or comment tag. */
    private String lstrip(String text) {
        int lpos = text.lastIndexOf('\n') + 1;
        if (lpos > 0 || lineStarting) {
            String tail = text.substring(lpos);
            if (!tail.isEmpty() && tail.codePoints().allMatch(Py::isSpace)) {
                return text.substring(0, lpos);
            }
        }
        return text;
    }

    private void comment(int open, int after) {
        int end = src.indexOf("#}", after);
        if (end < 0) {
            throw error(open, "missing end of comment tag");
        }
        char sign = end - 1 >= after ? src.charAt(end - 1) : 0;
        pos = end + 2;
        closeTag(sign == '-' || sign == '+' ? sign : 0, true);
    }

    /** Whitespace control after a closing tag, then where the next text starts. */
    private void closeTag(char sign, boolean trimBlocks) {
        int start = pos;
        if (sign == '-') {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                pos++;
            }
        } else if (sign != '+' && trimBlocks && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
        }
        lineStarting = pos > start ? src.charAt(pos - 1) == '\n' : false;
    }

    /** After {@code {%} (and its sign): the end of a {@code raw} opening tag, else -1. */
    private int rawBegin(int after) {
        int i = skipSpace(after);
        if (!src.startsWith("raw", i)) {
            return -1;
        }
        i = skipSpace(i + 3);
        if (src.startsWith("-%}", i)) {
            return skipSpace(i + 3);
        }
        if (src.startsWith("%}", i)) {
            return i + 2;
        }
        return -1;
    }

    private int skipSpace(int i) {
        while (i < src.length() && Py.isSpace(src.charAt(i))) {
            i++;
        }
        return i;
    }

    private void raw(int bodyStart) {
        int from = bodyStart;
        while (true) {
            int open = src.indexOf("{%", from);
            if (open < 0) {
                throw error(bodyStart, "missing end of raw directive");
            }
            int i = open + 2;
            char sign = i < src.length() ? src.charAt(i) : 0;
            if (sign == '-' || sign == '+') {
                i++;
            } else {
                sign = 0;
            }
            i = skipSpace(i);
            if (src.startsWith("endraw", i)) {
                int j = skipSpace(i + 6);
                char endSign = 0;
                if (src.startsWith("-%}", j) || src.startsWith("+%}", j)) {
                    endSign = src.charAt(j);
                    j += 3;
                } else if (src.startsWith("%}", j)) {
                    j += 2;
                } else {
                    from = open + 2;
                    continue;
                }
                lineStarting = bodyStart > 0 && src.charAt(bodyStart - 1) == '\n';
                String text = src.substring(bodyStart, open);
                if (sign == '-') {
                    text = Py.strip(text, null, false, true);
                } else if (sign != '+') {
                    text = lstrip(text);
                }
                if (!text.isEmpty()) {
                    tokens.add(new Token(Type.TEXT, text, null, lineOf(bodyStart)));
                }
                pos = j;
                closeTag(endSign, true);
                return;
            }
            from = open + 2;
        }
    }

    private void tag(Type begin, int open, int after) {
        int startLine = lineOf(open);
        tokens.add(new Token(begin, src.substring(open, after), null, startLine));
        boolean block = begin == Type.BLOCK_BEGIN;
        Deque<Character> balance = new ArrayDeque<>();
        pos = after;
        int n = src.length();
        while (true) {
            if (pos >= n) {
                throw new TemplateException(startLine, "unexpected end of template: the tag opened with '"
                        + src.substring(open, after) + "' is never closed");
            }
            if (balance.isEmpty()) {
                int end = endOfTag(block);
                if (end > 0) {
                    char sign = src.charAt(pos) == '-' || src.charAt(pos) == '+' ? src.charAt(pos) : 0;
                    tokens.add(new Token(block ? Type.BLOCK_END : Type.VAR_END, src.substring(pos, pos + end), null,
                            lineOf(pos)));
                    pos += end;
                    closeTag(sign, block);
                    return;
                }
            }
            char c = src.charAt(pos);
            if (Py.isSpace(c)) {
                pos++;
                continue;
            }
            int start = pos;
            int tokLine = lineOf(start);
            if (Character.isDigit(c)) {
                number(tokLine);
            } else if (c == '_' || Character.isLetter(c)) {
                while (pos < n && (src.charAt(pos) == '_' || Character.isLetterOrDigit(src.charAt(pos)))) {
                    pos++;
                }
                String name = src.substring(start, pos);
                tokens.add(new Token(Type.NAME, name, name, tokLine));
            } else if (c == '\'' || c == '"') {
                string(c, tokLine);
            } else {
                String op = null;
                for (String o : OPERATORS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) {
                    throw error(pos, "unexpected char '" + c + "'");
                }
                if (op.equals("(") || op.equals("[") || op.equals("{")) {
                    balance.push(op.equals("(") ? ')' : op.equals("[") ? ']' : '}');
                } else if (op.equals(")") || op.equals("]") || op.equals("}")) {
                    if (balance.isEmpty()) {
                        throw error(pos, "unexpected '" + op + "'");
                    }
                    char expected = balance.pop();
                    if (expected != op.charAt(0)) {
                        throw error(pos, "unexpected '" + op + "', expected '" + expected + "'");
                    }
                }
                pos += op.length();
                tokens.add(new Token(Type.OP, op, op, tokLine));
            }
        }
    }

    /** The length of the closing delimiter at {@code pos}, or 0. */
    private int endOfTag(boolean block) {
        String close = block ? "%}" : "}}";
        if (src.startsWith(close, pos)) {
            return 2;
        }
        char c = src.charAt(pos);
        if ((c == '-' || (block && c == '+')) && src.startsWith(close, pos + 1)) {
            return 3;
        }
        return 0;
    }

    private void number(int tokLine) {
        int n = src.length();
        int start = pos;
        if (src.charAt(pos) == '0' && pos + 1 < n && "xXoObB".indexOf(src.charAt(pos + 1)) >= 0) {
            char base = Character.toLowerCase(src.charAt(pos + 1));
            pos += 2;
            while (pos < n && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
            String digits = src.substring(start + 2, pos).replace("_", "");
            try {
                long v = Long.parseLong(digits, base == 'x' ? 16 : base == 'o' ? 8 : 2);
                tokens.add(new Token(Type.INT, src.substring(start, pos), v, tokLine));
            } catch (NumberFormatException e) {
                throw error(start, "invalid number '" + src.substring(start, pos) + "'");
            }
            return;
        }
        digits();
        boolean isFloat = false;
        boolean afterDot = start > 0 && src.charAt(start - 1) == '.';
        if (!afterDot && pos + 1 < n && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            pos++;
            digits();
            isFloat = true;
        }
        if (!afterDot && pos < n && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos;
            pos++;
            if (pos < n && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < n && Character.isDigit(src.charAt(pos))) {
                digits();
                isFloat = true;
            } else {
                pos = save;
            }
        }
        String text = src.substring(start, pos);
        String clean = text.replace("_", "");
        if (isFloat) {
            tokens.add(new Token(Type.FLOAT, text, Double.parseDouble(clean), tokLine));
        } else {
            Object v;
            try {
                v = Long.parseLong(clean);
            } catch (NumberFormatException e) {
                v = new java.math.BigInteger(clean);
            }
            tokens.add(new Token(Type.INT, text, v, tokLine));
        }
    }

    private void digits() {
        while (pos < src.length() && (Character.isDigit(src.charAt(pos))
                || (src.charAt(pos) == '_' && pos + 1 < src.length() && Character.isDigit(src.charAt(pos + 1))))) {
            pos++;
        }
    }

    /** A string literal with Python's backslash escapes (newline, tab, hex, unicode, octal); unknown ones stay. */
    private void string(char quote, int tokLine) {
        int start = pos;
        pos++;
        StringBuilder sb = new StringBuilder();
        int n = src.length();
        while (true) {
            if (pos >= n) {
                throw error(start, "unterminated string");
            }
            char c = src.charAt(pos);
            if (c == quote) {
                pos++;
                break;
            }
            if (c != '\\') {
                sb.append(c);
                pos++;
                continue;
            }
            if (pos + 1 >= n) {
                throw error(start, "unterminated string");
            }
            char e = src.charAt(pos + 1);
            pos += 2;
            switch (e) {
                case '\n':
                    break;
                case '\\':
                case '\'':
                case '"':
                    sb.append(e);
                    break;
                case 'n':
                    sb.append('\n');
                    break;
                case 't':
                    sb.append('\t');
                    break;
                case 'r':
                    sb.append('\r');
                    break;
                case 'a':
                    sb.append('\u0007');
                    break;
                case 'b':
                    sb.append('\b');
                    break;
                case 'f':
                    sb.append('\f');
                    break;
                case 'v':
                    sb.append('\u000b');
                    break;
                case 'x':
                    sb.appendCodePoint(hex(2, start));
                    break;
                case 'u':
                    sb.appendCodePoint(hex(4, start));
                    break;
                case 'U':
                    sb.appendCodePoint(hex(8, start));
                    break;
                default:
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && pos < n && src.charAt(pos) >= '0' && src.charAt(pos) <= '7'; k++) {
                            v = v * 8 + (src.charAt(pos++) - '0');
                        }
                        sb.appendCodePoint(v);
                    } else {
                        sb.append('\\').append(e);
                    }
            }
        }
        tokens.add(new Token(Type.STRING, src.substring(start, pos), sb.toString(), tokLine));
    }

    private int hex(int digits, int start) {
        if (pos + digits > src.length()) {
            throw error(start, "truncated \\x, \\u or \\U escape");
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            return v;
        } catch (NumberFormatException e) {
            throw error(start, "truncated \\x, \\u or \\U escape");
        }
    }
}
