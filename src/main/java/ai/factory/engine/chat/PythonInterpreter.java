package ai.factory.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;

/** A Jinjava interpreter that prints values the way Jinja2 does, through Python's {@code str()} ({@link PythonStr}). */
final class PythonInterpreter extends JinjavaInterpreter {
    PythonInterpreter(Jinjava jinjava, Context context, JinjavaConfig config) {
        super(jinjava, context, config);
    }

    @Override
    public String getAsString(Object object) {
        return PythonStr.str(object);
    }
}
