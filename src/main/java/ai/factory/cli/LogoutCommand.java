package ai.factory.cli;

import ai.factory.config.ConfigLoader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code factory logout}: forgets the sign-in that {@code factory login} kept for a factory. */
@Command(name = "logout", mixinStandardHelpOptions = true,
        description = "Forget your sign-in to a factory (made with 'factory login'); the commands then use keys again.")
final class LogoutCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--url", description = "Factory URL (default: $FACTORY_URL, else the local factory).")
    @Nullable String url;

    @Option(names = "--home", description = "Factory home to find the local server in.")
    @Nullable Path home;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String resolved = ClientOptions.resolveUrl(url, ConfigLoader.fromSystem().home(home));
        Logins.Forgotten forgotten = new Logins(Logins.defaultFile(), null).forget(resolved);
        out.println(!forgotten.had() ? "You were not signed in to " + Logins.key(resolved) + "."
                : "Signed out of " + Logins.key(resolved) + (forgotten.revoked() ? " (the identity provider revoked "
                        + "the sign-in)." : " (this machine forgot it; the identity provider offers no revocation, "
                        + "so it ends there when it expires)."));
        return 0;
    }
}
