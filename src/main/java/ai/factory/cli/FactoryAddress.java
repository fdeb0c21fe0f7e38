package ai.factory.cli;

import ai.factory.config.ConfigLoader;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * Where a running factory is and whom to trust there: {@code --url}, {@code --home} and {@code --ca-cert}, with the
 * defaults {@link ClientOptions} describes. A mixin of its own for the commands that need no key ({@code login},
 * {@code logout}); {@link ClientOptions} carries it too.
 */
final class FactoryAddress {
    @Option(names = "--url", description = "Factory URL (default: $FACTORY_URL, else the local factory).")
    @Nullable String url;

    @Option(names = "--home", description = "Factory home to find the local server (and its admin key) in.")
    @Nullable Path home;

    @Option(names = "--ca-cert", paramLabel = "FILE", description = "CA certificate (PEM) to trust over https, beside the "
            + "JDK's (default: $FACTORY_CA_CERT, else $FACTORY_HOME/tls/ca.pem when the factory generated one).")
    @Nullable Path caCert;

    /** The factory home. */
    Path home() {
        return ConfigLoader.fromSystem().home(home);
    }

    /** The factory's URL, as {@link ClientOptions} finds it. */
    String url() {
        return ClientOptions.resolveUrl(url, home());
    }

    /** Whom to trust at {@code resolvedUrl}; null for plain http without a CA named. */
    @Nullable SSLContext trust(String resolvedUrl) {
        return ClientOptions.trust(caCert, ClientOptions.site(home()), resolvedUrl);
    }
}
