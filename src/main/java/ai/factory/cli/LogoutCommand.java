package ai.factory.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code factory logout}: forgets the sign-in that {@code factory login} kept for a factory. */
@Command(name = "logout", mixinStandardHelpOptions = true,
        description = "Forget your sign-in to a factory (made with 'factory login'); the commands then use keys again.")
final class LogoutCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin FactoryAddress address;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String resolved = address.url();
        Logins.Forgotten forgotten = new Logins(Logins.defaultFile(), null).forget(resolved);
        out.println(!forgotten.had() ? "You were not signed in to " + Logins.key(resolved) + "."
                : "Signed out of " + Logins.key(resolved) + (forgotten.revoked() ? " (the identity provider revoked "
                        + "the sign-in)." : " (this machine forgot it; the identity provider offers no revocation, "
                        + "so it ends there when it expires)."));
        return 0;
    }
}
