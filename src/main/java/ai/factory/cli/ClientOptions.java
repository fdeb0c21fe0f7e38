package ai.factory.cli;

import ai.factory.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * How a command finds and authenticates to a running factory: {@code --url}, then {@code FACTORY_URL},
 * then the URL a local {@code factory up} recorded; {@code --key}, then {@code FACTORY_API_KEY}, then
 * {@code $FACTORY_HOME/admin.key}.
 */
final class ClientOptions {
    private static final Pattern URL_FIELD = Pattern.compile("\"url\"\\s*:\\s*\"([^\"]+)\"");

    @Option(names = "--url", description = "Factory URL (default: $FACTORY_URL, else the local factory).")
    String url;

    @Option(names = "--key", description = "API key (default: $FACTORY_API_KEY, else $FACTORY_HOME/admin.key).")
    String key;

    @Option(names = "--home", description = "Factory home to find the local server and admin key in.")
    Path home;

    @Option(names = "--json", description = "Print JSON for scripts instead of a table.")
    boolean json;

    FactoryClient client() {
        return client(url, key, home);
    }

    /** A client for the factory found as this class describes, from explicit values (each may be null). */
    static FactoryClient client(String url, String key, Path home) {
        Path dir = ConfigLoader.fromSystem().home(home);
        return new FactoryClient(resolveUrl(url, dir), resolveKey(key, dir));
    }

    private static String resolveUrl(String url, Path dir) {
        if (url != null) {
            return url;
        }
        String env = System.getenv("FACTORY_URL");
        if (env != null && !env.isBlank()) {
            return env;
        }
        Path serverFile = dir.resolve("run").resolve("server.json");
        try {
            Matcher m = URL_FIELD.matcher(Files.readString(serverFile));
            if (m.find()) {
                return m.group(1);
            }
        } catch (IOException e) {
            // no local server recorded; fall through to the message below
        }
        throw new IllegalStateException("no running factory found: start one with './factory up', or give --url "
                + "or FACTORY_URL");
    }

    private static String resolveKey(String key, Path dir) {
        if (key != null) {
            return key;
        }
        String env = System.getenv("FACTORY_API_KEY");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        Path keyFile = dir.resolve("admin.key");
        try {
            return Files.readString(keyFile).trim();
        } catch (IOException e) {
            throw new IllegalStateException("no API key: give --key or FACTORY_API_KEY (or run as the user whose "
                    + keyFile + " holds the admin key)");
        }
    }
}
