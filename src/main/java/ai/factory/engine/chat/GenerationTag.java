package ai.factory.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.util.LengthLimitingStringBuilder;
import java.io.Serial;

/**
 * Hugging Face's {@code {% generation %}...{% endgeneration %}}, which marks the assistant's tokens for training
 * masks. Serving needs only the text, so the body renders as is, in its own scope as Jinja2's call block does.
 */
final class GenerationTag implements Tag {
    @Serial
    private static final long serialVersionUID = 1L;

    @Override
    public String getName() {
        return "generation";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        try (var _ = interpreter.enterScope()) {
            LengthLimitingStringBuilder body = new LengthLimitingStringBuilder(interpreter.getConfig().getMaxOutputSize());
            for (Node child : tagNode.getChildren()) {
                body.append(child.render(interpreter));
            }
            return body.toString();
        }
    }
}
