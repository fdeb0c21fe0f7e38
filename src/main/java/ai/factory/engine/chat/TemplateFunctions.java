package ai.factory.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import org.jspecify.annotations.Nullable;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The global functions Hugging Face adds to its Jinja environment, and some that stand in for Jinja2 features
 * Jinjava lacks. Jinjava binds functions to static methods, so per-render state comes from the
 * {@link RenderSession}.
 *
 * <ul>
 *   <li>{@code raise_exception(msg)} aborts the render; {@link ChatTemplate} reports the message to the client.
 *   <li>{@code strftime_now(fmt)} formats the session clock's time, C-locale {@code strftime} style.
 *   <li>{@code range(...)} replaces Jinjava's, which silently stops at 1000 items, with Python's semantics and
 *       a per-render budget instead.
 *   <li>{@code __factory_slice(seq, start, stop, step)} is Python's {@code seq[start:stop:step]}, for slices
 *       Jinjava cannot parse (see {@link Jinja2Expressions}).
 *   <li>{@code __factory_loop_filter(seq, n)} keeps the items of {@code seq} that loop filter {@code n} accepts
 *       (see {@link Jinja2Translator}).
 * </ul>
 */
final class TemplateFunctions {
    private TemplateFunctions() {}

    static void register(Jinjava jinjava) {
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class,
                "raiseException", Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class,
                "strftimeNow", String.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "range", TemplateFunctions.class,
                "range", Object.class, Object[].class));
        jinjava.registerFunction(new ELFunctionDefinition("", Jinja2Expressions.SLICE_FUNCTION,
                TemplateFunctions.class, "slice", Object.class, Object.class, Object.class, Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", Jinja2Translator.LOOP_FILTER_FUNCTION,
                TemplateFunctions.class, "loopFilter", Object.class, int.class));
    }

    static Object raiseException(Object message) {
        throw RenderSession.current().halt(new TemplateRaisedException(String.valueOf(message)));
    }

    static String strftimeNow(String format) {
        return Strftime.format(ZonedDateTime.now(RenderSession.current().clock()), format);
    }

    static List<Long> range(Object first, Object... rest) {
        long start = 0;
        long stop;
        long step = 1;
        switch (rest.length) {
            case 0 -> stop = integer(first);
            case 1 -> {
                start = integer(first);
                stop = integer(rest[0]);
            }
            case 2 -> {
                start = integer(first);
                stop = integer(rest[0]);
                step = integer(rest[1]);
            }
            default -> throw new IllegalArgumentException("range() takes at most 3 arguments");
        }
        if (step == 0) {
            throw new IllegalArgumentException("range() arg 3 must not be zero");
        }
        long count = step > 0
                ? Math.max(0, Math.ceilDiv(stop - start, step))
                : Math.max(0, Math.ceilDiv(start - stop, -step));
        RenderSession.current().chargeRange(count);
        List<Long> items = new ArrayList<>((int) count);
        for (long i = 0, value = start; i < count; i++, value += step) {
            items.add(value);
        }
        return items;
    }

    static Object slice(Object sequence, Object start, Object stop, Object step) {
        List<?> items = switch (sequence) {
            case null -> List.of();
            case CharSequence text -> text.codePoints().mapToObj(Character::toString).toList();
            case List<?> list -> list;
            default -> {
                List<Object> all = new ArrayList<>();
                ObjectIterator.getLoop(sequence).forEachRemaining(all::add);
                yield all;
            }
        };
        long stride = step == null ? 1 : integer(step);
        if (stride == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        // Python's slice.indices(): clamp each bound into the range the direction can reach.
        int length = items.size();
        long first = bound(start, stride > 0 ? 0 : length - 1, length, stride);
        long end = bound(stop, stride > 0 ? length : -1, length, stride);
        List<Object> picked = new ArrayList<>();
        for (long i = first; stride > 0 ? i < end : i > end; i += stride) {
            picked.add(items.get((int) i));
        }
        if (sequence instanceof CharSequence) {
            StringBuilder text = new StringBuilder();
            picked.forEach(text::append);
            return text.toString();
        }
        return picked;
    }

    private static long bound(Object value, long absent, int length, long stride) {
        if (value == null) {
            return absent;
        }
        long index = integer(value);
        if (index < 0) {
            index += length;
        }
        return stride > 0 ? Math.clamp(index, 0, length) : Math.clamp(index, -1, length - 1);
    }

    static List<Object> loopFilter(Object sequence, int index) {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        Jinja2Translator.LoopFilter filter = RenderSession.of(interpreter).loopFilter(index);
        List<Object> kept = new ArrayList<>();
        ForLoop items = ObjectIterator.getLoop(sequence);
        while (items.hasNext()) {
            Object item = items.next();
            try (var _ = interpreter.enterScope()) {
                bindTargets(interpreter, filter.targets(), interpreter.wrap(item));
                Object verdict = interpreter.resolveELExpression(filter.condition(), interpreter.getLineNumber());
                if (ObjectTruthValue.evaluate(verdict)) {
                    kept.add(item);
                }
            }
        }
        return kept;
    }

    /** Binds loop targets the way Jinjava's {@code for} tag unpacks items: map entries, then lists. */
    private static void bindTargets(JinjavaInterpreter interpreter, List<String> targets, Object item) {
        if (targets.size() == 1) {
            interpreter.getContext().put(targets.getFirst(), item);
            return;
        }
        for (int i = 0; i < targets.size(); i++) {
            interpreter.getContext().put(targets.get(i), unpack(item, i));
        }
    }

    private static @Nullable Object unpack(Object item, int index) {
        return switch (item) {
            case Map.Entry<?, ?> entry when index < 2 -> index == 0 ? entry.getKey() : entry.getValue();
            case List<?> list when index < list.size() -> list.get(index);
            case null, default -> null;
        };
    }

    private static long integer(Object value) {
        return switch (value) {
            case Number number -> number.longValue();
            case String text -> Long.parseLong(text.strip());
            case null, default -> throw new IllegalArgumentException("range() needs integers, got " + value);
        };
    }

    /** What {@code raise_exception} throws; its message is the template's own words for what is wrong. */
    static final class TemplateRaisedException extends RuntimeException {
        TemplateRaisedException(String message) {
            super(message, null, false, false);
        }
    }
}
