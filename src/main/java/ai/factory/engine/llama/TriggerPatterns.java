package ai.factory.engine.llama;

import ai.factory.FactoryException;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Checks a lazy grammar's trigger patterns before llama.cpp sees them. llama.cpp compiles them with
 * {@code std::regex} (ECMAScript) inside a C function, and a pattern it rejects throws a C++ exception through the
 * C API, which ends the process. So only a conservative subset is let through: what Java compiles, minus the
 * Java-only constructs ECMAScript lacks (possessive quantifiers, atomic groups, lookbehind, named groups,
 * inline flags, {@code \p}, {@code \Q}, {@code \A}, {@code \z} and other letter escapes).
 */
final class TriggerPatterns {
    private TriggerPatterns() {}

    static void check(String pattern) {
        try {
            Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw refuse(pattern, e.getDescription());
        }
        boolean inClass = false;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '\\') {
                char next = pattern.charAt(i + 1); // Java compiled it: a backslash is never last
                if (Character.isLetterOrDigit(next) && "dDwWsSbBnrtfv0123456789xuc".indexOf(next) < 0) {
                    throw refuse(pattern, "the escape \\" + next + " is not ECMAScript");
                }
                i++;
            } else if (inClass) {
                inClass = c != ']';
            } else if (c == '[') {
                inClass = true;
                if (i + 1 < pattern.length() && pattern.charAt(i + 1) == ']') {
                    i++; // a leading ']' is a member in Java
                }
            } else if (c == '(' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '?') {
                String kind = pattern.substring(i + 1, Math.min(pattern.length(), i + 3));
                if (!kind.equals("?:") && !kind.equals("?=") && !kind.equals("?!")) {
                    throw refuse(pattern, "only (?:, (?= and (?! groups are supported");
                }
            } else if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < pattern.length()
                    && pattern.charAt(i + 1) == '+') {
                throw refuse(pattern, "possessive quantifiers are not ECMAScript");
            }
        }
    }

    private static FactoryException refuse(String pattern, String why) {
        return FactoryException.invalidParam("grammar", "the grammar's trigger pattern %s is not supported: %s"
                .formatted(pattern, why));
    }
}
