package ai.factory.api;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The web console's files, built into the jar at {@code /console} (from {@code src/main/console} by Vite): served
 * without a key, as the pages themselves hold no data; what they show comes from the public APIs, called with the
 * person's session or key, so the site's policies decide it as for any other client. Every answer carries a content
 * security policy that lets the pages load and call nothing but this factory.
 */
final class ConsoleFiles {
    static final String PATH = "/console";
    private static final String ROOT = "console/";
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._/-]*");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "svg", "image/svg+xml",
            "png", "image/png", "ico", "image/x-icon", "json", "application/json", "woff2", "font/woff2",
            "txt", "text/plain; charset=utf-8");
    static final String POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private static final Map<String, byte[]> FILES = new java.util.concurrent.ConcurrentHashMap<>();

    private ConsoleFiles() {}

    /** {@code GET /console/...}: a file of the console; any other path under it is the console's page. */
    static void serve(Context ctx) {
        String path = ctx.path().substring(PATH.length());
        if (path.isEmpty()) {
            ctx.redirect(PATH + "/", HttpStatus.MOVED_PERMANENTLY);
            return;
        }
        String name = file(path);
        if (name == null) {
            throw FactoryException.about(ErrorCode.NOT_FOUND, "url", "no such file of the console: " + ctx.path());
        }
        path = name;
        byte[] body = read(path);
        if (body == null) {
            throw FactoryException.about(ErrorCode.NOT_FOUND, "url", path.equals("index.html")
                    ? "the console is not in this build (it is built with npm, which the build did not find); "
                            + "install Node.js and npm and build again"
                    : "no such file of the console: " + ctx.path());
        }
        String extension = path.substring(path.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        ctx.contentType(TYPES.getOrDefault(extension, "application/octet-stream"));
        ctx.header("Content-Security-Policy", POLICY);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "same-origin");
        // Vite names the assets by their content: they never change. The page itself is asked for each time.
        ctx.header("Cache-Control", path.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache");
        ctx.result(body);
    }

    /**
     * The console's file a path under {@code /console} names ({@code /assets/index-1a2b.js}): a path without a file
     * name's dot is a page of the console, {@code index.html}; null for a name outside the console's folder or with
     * characters no file of it has.
     */
    static @Nullable String file(String path) {
        String name = path.startsWith("/") ? path.substring(1) : path;
        if (name.isEmpty() || !name.substring(name.lastIndexOf('/') + 1).contains(".")) {
            name = "index.html";
        }
        if (!SAFE.matcher(name).matches() || name.contains("..") || name.contains("//")) {
            return null;
        }
        return name;
    }

    /**
     * A file of the console, read from the jar once and kept (the jar does not change while the factory runs; the
     * console is about 120 kB); null when there is none, which is not kept, so unknown names take no memory.
     */
    private static byte @Nullable [] read(String path) {
        byte[] kept = FILES.get(path);
        if (kept != null) {
            return kept;
        }
        try (InputStream in = ConsoleFiles.class.getClassLoader().getResourceAsStream(ROOT + path)) {
            if (in == null) {
                return null;
            }
            byte[] body = in.readAllBytes();
            FILES.put(path, body);
            return body;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
