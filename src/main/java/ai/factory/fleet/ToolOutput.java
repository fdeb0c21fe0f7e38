package ai.factory.fleet;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.StringReader;
import java.util.Locale;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.jspecify.annotations.Nullable;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** Shared pieces of the parsers that turn a discovery tool's text output into records. */
final class ToolOutput {
    private ToolOutput() {}

    /** The error a parser raises when output is not what the tool documents; discovery records it as a warning. */
    static FactoryException malformed(String tool, String why) {
        return new FactoryException(ErrorCode.INTERNAL, tool + " output is not as expected: " + why);
    }

    static FactoryException malformed(String tool, String why, Throwable cause) {
        return new FactoryException(ErrorCode.INTERNAL, tool + " output is not as expected: " + why, cause);
    }

    /** True for the placeholders the vendor tools print instead of a value. */
    static boolean missing(@Nullable String value) {
        if (value == null) {
            return true;
        }
        String v = value.strip().toLowerCase(Locale.ROOT);
        return v.isEmpty() || v.equals("n/a") || v.equals("[n/a]") || v.equals("[not supported]")
                || v.equals("not supported") || v.equals("[unknown error]") || v.equals("[insufficient permissions]");
    }

    static JsonNode json(String tool, String text) {
        try {
            JsonNode node = ai.factory.Json.mapper().readTree(text);
            if (node == null || node.isMissingNode()) {
                throw malformed(tool, "empty output");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw malformed(tool, "not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
    }

    /** Parses XML without fetching the DTD the document names and without expanding external entities. */
    static Document xml(String tool, String text) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            f.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
            f.setExpandEntityReferences(false);
            f.setNamespaceAware(false);
            var builder = f.newDocumentBuilder();
            builder.setErrorHandler(null);
            return builder.parse(new InputSource(new StringReader(text)));
        } catch (org.xml.sax.SAXException | java.io.IOException e) {
            throw malformed(tool, "not well-formed XML (" + e.getMessage() + ")", e);
        } catch (javax.xml.parsers.ParserConfigurationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The text of the first direct child element with this name, or null. */
    static @Nullable String child(@Nullable Element parent, String name) {
        Element e = childElement(parent, name);
        return e == null ? null : e.getTextContent().strip();
    }

    static @Nullable Element childElement(@Nullable Element parent, String name) {
        if (parent == null) {
            return null;
        }
        NodeList children = parent.getChildNodes();
        for (int i = 0; i < children.getLength(); i++) {
            Node n = children.item(i);
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    static java.util.List<Element> childElements(@Nullable Element parent, String name) {
        java.util.List<Element> out = new java.util.ArrayList<>();
        if (parent == null) {
            return out;
        }
        NodeList children = parent.getChildNodes();
        for (int i = 0; i < children.getLength(); i++) {
            if (children.item(i) instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * A size as the tools print it ({@code "81559 MiB"}, {@code "196592 MB"}, {@code "1024 KiB"}, a bare number in
     * {@code defaultUnit}) in bytes. The NVIDIA and AMD tools mean binary units by "MB".
     */
    static long bytes(String tool, @Nullable String value, String defaultUnit) {
        if (value == null) {
            throw malformed(tool, "not a size: 'null'");
        }
        String v = value.strip();
        String[] parts = v.split("\\s+");
        if (parts.length > 2) {
            throw malformed(tool, "not a size: '" + v + "'");
        }
        String unit = parts.length == 2 ? parts[1] : defaultUnit;
        long n;
        try {
            n = Long.parseLong(parts[0]);
        } catch (NumberFormatException e) {
            throw malformed(tool, "not a size: '" + v + "'");
        }
        long scale = switch (unit.toUpperCase(Locale.ROOT)) {
            case "B" -> 1L;
            case "KB", "KIB" -> 1L << 10;
            case "MB", "MIB" -> 1L << 20;
            case "GB", "GIB" -> 1L << 30;
            default -> throw malformed(tool, "unknown size unit in '" + v + "'");
        };
        if (n < 0 || n > Long.MAX_VALUE / scale) {
            throw malformed(tool, "size out of range: '" + v + "'");
        }
        return n * scale;
    }

    static int integer(String tool, String field, @Nullable String value) {
        if (value == null) {
            throw malformed(tool, field + " is not an integer: 'null'");
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw malformed(tool, field + " is not an integer: '" + value + "'");
        }
    }
}
