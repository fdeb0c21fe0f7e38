package ai.factory.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.util.LengthLimitingStringBuilder;
import java.io.Serial;

/**
 * Jinja2's {@code {% filter trim %}...{% endfilter %}}, which applies a filter to a rendered block; Jinjava
 * has no such tag. The body renders first, then the tag's text is evaluated as a filter chain on it.
 */
final class FilterBlockTag implements Tag {
    @Serial
    private static final long serialVersionUID = 1L;
    private static final String BODY = "__factory_filter_body";

    @Override
    public String getName() {
        return "filter";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        try (var _ = interpreter.enterScope()) {
            LengthLimitingStringBuilder body = new LengthLimitingStringBuilder(interpreter.getConfig().getMaxOutputSize());
            for (Node child : tagNode.getChildren()) {
                body.append(child.render(interpreter));
            }
            interpreter.getContext().put(BODY, body.toString());
            String chain = BODY + "|" + tagNode.getHelpers().strip();
            Object filtered = interpreter.resolveELExpression(chain, tagNode.getLineNumber());
            return interpreter.getAsString(filtered);
        }
    }
}
