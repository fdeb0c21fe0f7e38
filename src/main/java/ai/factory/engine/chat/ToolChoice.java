package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

/** Whether and which tool the model must call. */
public sealed interface ToolChoice {
    /** No tool call: plain text only (tools may still be described to the model). */
    record None() implements ToolChoice {}

    /** Text or tool calls, as the model decides. */
    record Auto() implements ToolChoice {}

    /** At least one tool call, of any of the tools. */
    record Required() implements ToolChoice {}

    /** A call of this one tool. */
    record Named(String name) implements ToolChoice {
        public Named {
            requireNonNull(name, "name is null");
        }
    }

    ToolChoice NONE = new None();
    ToolChoice AUTO = new Auto();
    ToolChoice REQUIRED = new Required();
}
