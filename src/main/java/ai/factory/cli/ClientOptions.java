package ai.factory.cli;

import ai.factory.config.ConfigLoader;
import ai.factory.config.TlsFiles;
import ai.factory.security.tls.SiteTrust;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How a command finds and authenticates to a running factory: {@code --url}, then {@code FACTORY_URL},
 * then the URL a local {@code factory up} recorded; {@code --key}, then {@code FACTORY_API_KEY}, then the person's
 * sign-in to that URL ({@code factory login}, renewed when it ended), then {@code $FACTORY_HOME/admin.key}. Over https it trusts the JDK's default authorities and, beside them, the CA
 * certificate in {@code --ca-cert}, else {@code FACTORY_CA_CERT}, else the site CA a local factory generated
 * ({@code $FACTORY_HOME/tls/ca.pem}) when there is one.
 */
final class ClientOptions {
    private static final Pattern URL_FIELD = Pattern.compile("\"url\"\\s*:\\s*\"([^\"]+)\"");

    @Mixin FactoryAddress address;

    @Option(names = "--key", description = "API key (default: $FACTORY_API_KEY, else $FACTORY_HOME/admin.key).")
    @Nullable String key;

    @Option(names = "--json", description = "Print JSON for scripts instead of a table.")
    boolean json;

    private @Nullable FactoryClient client;

    /** The command's client, made at the first call; {@link #close} ends it. */
    FactoryClient client() {
        FactoryClient made = client;
        if (made == null) {
            made = client(address.url, key, address.caCert, address.home);
            client = made;
        }
        return made;
    }

    /** Ends the command's client, if it made one. */
    void close() {
        if (client != null) {
            client.close();
        }
    }

    /** A client for the factory found as this class describes, from explicit values (each may be null). */
    static FactoryClient client(@Nullable String url, @Nullable String key, @Nullable Path caCert,
                                @Nullable Path home) {
        Path dir = ConfigLoader.fromSystem().home(home);
        Path site = site(dir);
        String resolved = resolveUrl(url, dir);
        SSLContext tls = trust(caCert, site, resolved);
        return new FactoryClient(resolved, resolveKey(key, site, resolved, tls), tls);
    }

    /**
     * Where the home's factory keeps the admin key and the site CA: its {@code cluster.site} when its configuration
     * names one, else the home (also when the configuration does not load: the command then says what it lacks).
     */
    static Path site(Path home) {
        try {
            return ConfigLoader.fromSystem().load(home, java.util.Map.of()).site();
        } catch (RuntimeException e) {
            return home;
        }
    }

    /** Whom to trust over https; null for a plain http URL without a CA named for it. */
    static @Nullable SSLContext trust(@Nullable Path caCert, Path site, String url) {
        boolean https = url.regionMatches(true, 0, "https:", 0, 6);
        if (caCert != null) {
            return SiteTrust.context(List.of(caCert));
        }
        String env = System.getenv("FACTORY_CA_CERT");
        if (env != null && !env.isBlank()) {
            return SiteTrust.context(List.of(Path.of(env.strip())));
        }
        Path generated = TlsFiles.under(site).caCertificate();
        if (https && Files.isRegularFile(generated)) {
            return SiteTrust.context(List.of(generated));
        }
        return https ? SiteTrust.context(List.of()) : null;
    }

    static String resolveUrl(@Nullable String url, Path dir) {
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

    private static String resolveKey(@Nullable String key, Path site, String url, @Nullable SSLContext tls) {
        if (key != null) {
            return key;
        }
        String env = System.getenv("FACTORY_API_KEY");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        java.util.Optional<String> signedIn = new Logins(Logins.defaultFile(), tls).accessToken(url);
        if (signedIn.isPresent()) {
            return signedIn.get();
        }
        Path keyFile = site.resolve("admin.key");
        try {
            return Files.readString(keyFile).trim();
        } catch (IOException e) {
            throw new IllegalStateException("no API key: give --key or FACTORY_API_KEY (or run as the user whose "
                    + keyFile + " holds the admin key)");
        }
    }
}
