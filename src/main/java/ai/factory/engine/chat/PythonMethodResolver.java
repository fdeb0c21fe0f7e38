package ai.factory.engine.chat;

import com.hubspot.jinjava.el.TypeConvertingMapELResolver;
import com.hubspot.jinjava.el.ext.JinjavaBeanELResolver;
import com.hubspot.jinjava.el.ext.JinjavaListELResolver;
import com.hubspot.jinjava.objects.SafeString;
import java.beans.FeatureDescriptor;
import java.util.Iterator;
import java.util.Optional;
import java.util.regex.Pattern;
import jinjava.javax.el.ArrayELResolver;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;
import org.jspecify.annotations.Nullable;

/**
 * Answers method calls on strings with Python's {@code str} methods ({@link PythonStrings}) before Jinjava's
 * bean resolver would look for a Java method of that name, and indexes strings by position. Everything else
 * falls through to Jinjava's read-only resolvers, minus the resource-bundle one, which templates have no
 * business reaching.
 */
final class PythonMethodResolver extends ELResolver {
    private static final Pattern INDEX = Pattern.compile("-?\\d{1,9}");

    private PythonMethodResolver() {}

    static ELResolver chain() {
        CompositeELResolver chain = new CompositeELResolver();
        chain.add(new PythonMethodResolver());
        chain.add(new ArrayELResolver(true));
        chain.add(new JinjavaListELResolver(true));
        chain.add(new TypeConvertingMapELResolver(true));
        chain.add(new JinjavaBeanELResolver(true));
        return chain;
    }

    @Override
    public @Nullable Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes,
                                   Object[] params) {
        String text = switch (base) {
            case String s -> s;
            case SafeString s -> s.toString();
            case null, default -> null;
        };
        if (text == null || !(method instanceof String name)) {
            return null;
        }
        Optional<Object> result = PythonStrings.invoke(text, name, params);
        if (result.isPresent()) {
            context.setPropertyResolved(true);
            return result.get();
        }
        return null;
    }

    /**
     * {@code text[i]}, negative indices counting from the end; Jinjava resolves indices on strings to nothing.
     * Jinjava hands every property over as text, so an index arrives as digits.
     */
    @Override
    public @Nullable Object getValue(ELContext context, Object base, Object property) {
        if (!(base instanceof String text) || !(property instanceof String name) || !INDEX.matcher(name).matches()) {
            return null;
        }
        context.setPropertyResolved(true);
        int index = Integer.parseInt(name);
        if (index < 0) {
            index += text.length();
        }
        return index >= 0 && index < text.length() ? String.valueOf(text.charAt(index)) : null;
    }

    @Override
    public @Nullable Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public @Nullable Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public @Nullable Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
