package ai.factory.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import java.io.Serial;
import java.util.AbstractCollection;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Jinjava's {@code for} tag, with every iteration charged to the render's node budget. A loop with an empty
 * body renders no nodes, so without this three nested loops over the messages would run a billion empty
 * iterations unchecked.
 */
final class ChargedForTag extends ForTag {
    @Serial
    private static final long serialVersionUID = 1L;

    @Override
    public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars,
                                      Object collection) {
        RenderSession session = RenderSession.of(interpreter);
        Collection<?> items = switch (collection) {
            // Jinja2 iterates a dict's keys; so does Jinjava with the legacy override ChatTemplate sets.
            case Map<?, ?> map -> map.keySet();
            case Collection<?> c -> c;
            case Object[] array -> Arrays.asList(array);
            case null, default -> null;
        };
        return super.renderForCollection(tagNode, interpreter, loopVars, items == null ? collection : charged(items, session));
    }

    private static Collection<Object> charged(Collection<?> items, RenderSession session) {
        return new AbstractCollection<>() {
            @Override
            public Iterator<Object> iterator() {
                Iterator<?> inner = items.iterator();
                return new Iterator<>() {
                    @Override
                    public boolean hasNext() {
                        return inner.hasNext();
                    }

                    @Override
                    public Object next() {
                        session.chargeNode();
                        return inner.next();
                    }
                };
            }

            @Override
            public int size() {
                return items.size();
            }
        };
    }
}
