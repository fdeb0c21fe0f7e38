package ai.factory.models;

import ai.factory.FactoryException;
import java.util.Locale;

/** The file formats the factory's engines run. */
public enum ModelFormat {
    GGUF,
    ONNX;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ModelFormat parse(String text) {
        for (ModelFormat f : values()) {
            if (f.id().equalsIgnoreCase(text)) {
                return f;
            }
        }
        throw FactoryException.invalidParam("format", "unknown model format '" + text + "'; use gguf or onnx");
    }
}
