package ai.factory.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Filters whose Jinjava versions differ from what Hugging Face templates expect.
 *
 * <ul>
 *   <li>{@code tojson}: Hugging Face's signature ({@code ensure_ascii=False, indent=None, separators=None,
 *       sort_keys=False}) and Python's exact output, never HTML-escaped (see {@link PythonJson}).
 *   <li>{@code items}: Jinja 3.1's filter, missing from Jinjava; yields {@code [key, value]} pairs.
 *   <li>{@code trim}: Python's {@code str.strip}, which removes Unicode spaces and takes {@code chars}; Jinjava
 *       trims ASCII control characters instead.
 *   <li>{@code string}: Python's {@code str()}, so a dict prints as {@code {'k': 'v'}} (Apriel prints its tools
 *       this way).
 * </ul>
 */
final class TemplateFilters {
    private TemplateFilters() {}

    static void register(Jinjava jinjava) {
        jinjava.registerFilter(new ToJson());
        jinjava.registerFilter(new Items());
        jinjava.registerFilter(new Trim());
        jinjava.registerFilter(new Str());
    }

    /** Base for filters that read their arguments as objects rather than Jinjava's strings. */
    private abstract static class ObjectArgumentsFilter implements Filter {
        @Override
        public final Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public abstract Object filter(Object var, JinjavaInterpreter interpreter, Object[] args,
                                      Map<String, Object> kwargs);
    }

    static final class ToJson extends ObjectArgumentsFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            // Positional use is Jinja2's tojson(indent); keywords are Hugging Face's.
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            Integer spaces = indent instanceof Number n ? n.intValue() : null;
            PythonJson.Options defaults = PythonJson.Options.huggingFace(spaces);
            String itemSeparator = defaults.itemSeparator();
            String keySeparator = defaults.keySeparator();
            if (kwargs.get("separators") instanceof List<?> pair && pair.size() == 2) {
                itemSeparator = String.valueOf(pair.get(0));
                keySeparator = String.valueOf(pair.get(1));
            }
            return PythonJson.dumps(var, new PythonJson.Options(
                    truthy(kwargs.get("ensure_ascii")), spaces, itemSeparator, keySeparator,
                    truthy(kwargs.get("sort_keys"))));
        }

        private static boolean truthy(@Nullable Object value) {
            return value instanceof Boolean b && b;
        }
    }

    static final class Items extends ObjectArgumentsFilter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            List<Object> pairs = new ArrayList<>();
            if (var instanceof Map<?, ?> map) {
                map.forEach((key, value) -> pairs.add(new ArrayList<>(Arrays.asList(key, value))));
            }
            return pairs;
        }
    }

    static final class Trim extends ObjectArgumentsFilter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object chars = kwargs.getOrDefault("chars", args.length > 0 ? args[0] : null);
            return PythonStrings.strip(PythonStr.str(var), chars, true, true);
        }
    }

    static final class Str extends ObjectArgumentsFilter {
        @Override
        public String getName() {
            return "string";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            return PythonStr.str(var);
        }
    }
}
